namespace SegmentController.Storage.Chain;

/// <summary>
/// What a purge record vouches for: payloads of these clients' records up to <see cref="HeadIndex"/> were
/// removed on <see cref="Today"/> because each client's retention (<see cref="RetainUntil"/>) had ended.
/// </summary>
/// <param name="RecordIndex">The purge record's own index.</param>
/// <param name="RecordTicks">When the purge record was sequenced.</param>
/// <param name="HeadIndex">The last record it covers.</param>
/// <param name="Today">The date the purge judged retention against.</param>
/// <param name="RetainUntil">Per client, the retention end the purge applied.</param>
internal sealed record PurgeBody(long RecordIndex, long RecordTicks, long HeadIndex, DateOnly Today, IReadOnlyDictionary<string, DateOnly> RetainUntil)
{
    /// <summary>The clients whose records it purged.</summary>
    public IEnumerable<string> Clients => RetainUntil.Keys;

    /// <summary>Whether it vouches for the removal of the payload of record <paramref name="index"/>, which concerns <paramref name="clients"/>.</summary>
    public bool Covers(long index, IReadOnlyList<string> clients) =>
        HeadIndex >= index && RecordIndex > index && clients.All(RetainUntil.ContainsKey);
}
