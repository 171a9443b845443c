namespace SegmentController.Core.Audits;

/// <summary>One piece of audit evidence judged.</summary>
/// <param name="Source">Which evidence source (snmp, capture, proxy, policy, store).</param>
/// <param name="Name">What was checked, e.g. <c>switch sw1 isolation</c>.</param>
/// <param name="Clients">The clients it concerns; empty means every client in scope.</param>
/// <param name="Outcome">Pass, fail or indeterminate.</param>
/// <param name="Detail">Why, for people.</param>
public sealed record AuditCheck(string Source, string Name, IReadOnlyList<string> Clients, AuditOutcome Outcome, string Detail)
{
    /// <summary>Whether the check counts for <paramref name="client"/>: it names it, or it is site-wide.</summary>
    public bool Concerns(string client) => Clients.Count == 0 || Clients.Contains(client, StringComparer.Ordinal);
}
