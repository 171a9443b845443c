namespace SegmentController.Core.Findings;

/// <summary>Where a finding is on record: its <c>finding</c> record, and each client's <c>finding-view</c> of it.</summary>
/// <param name="Record">The index of the full record, under every client's key.</param>
/// <param name="Views">Per client, the index of its view (none for a finding of one client or of none).</param>
public sealed record FindingRecordIndexes(long Record, IReadOnlyDictionary<string, long> Views)
{
    /// <summary>
    /// The record an export for <paramref name="client"/> shows of the finding: its view, or the full record
    /// when that is keyed to the client alone; null when the finding does not concern it.
    /// </summary>
    public long? ShownTo(string client, IReadOnlyList<string> clients)
    {
        ArgumentNullException.ThrowIfNull(clients);
        return Views.TryGetValue(client, out var view) ? view
            : clients.Count == 1 && clients[0] == client ? Record
            : null;
    }
}
