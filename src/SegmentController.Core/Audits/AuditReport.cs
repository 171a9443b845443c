namespace SegmentController.Core.Audits;

/// <summary>An audit run: every check and the result per client.</summary>
public sealed record AuditReport
{
    public required string Id { get; init; }

    /// <summary>scheduled, on-demand, or external (recorded through the API).</summary>
    public required string Trigger { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset FinishedAt { get; init; }

    public required string PolicySha256 { get; init; }

    public required IReadOnlyList<AuditCheck> Checks { get; init; }

    public required IReadOnlyList<ClientAuditResult> Results { get; init; }

    /// <summary>An external audit's recorder, from the credential they authenticated with (null for an audit the controller ran).</summary>
    public AuditRecorder? RecordedBy { get; init; }

    /// <summary>
    /// The external auditor (an organisation or a person) as whoever recorded the audit named them: their
    /// statement, not an identity the controller checked. Null when none was named.
    /// </summary>
    public string? ExternalAuditor { get; init; }

    /// <summary>Index of the audit-result record in the chain.</summary>
    public long RecordIndex { get; init; } = -1;

    /// <summary>Why the <c>audit-failed</c> findings were not all handled (null when they were, or none were due).</summary>
    public string? FindingsError { get; init; }

    /// <summary>
    /// Why the clients' own views (<c>audit-view</c>) were not all recorded beside the <c>audit-result</c>
    /// (null when they were, or none were due). The result counts all the same: it is on record.
    /// </summary>
    public string? ViewsError { get; init; }

    /// <summary>Per client: fail if any check fails; indeterminate if evidence is missing; pass only with every source heard and clean.</summary>
    public static IReadOnlyList<ClientAuditResult> Judge(IReadOnlyList<string> clients, IReadOnlyList<AuditCheck> checks, IReadOnlyCollection<string> requiredSources)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(requiredSources);
        var results = new List<ClientAuditResult>();
        foreach (var client in clients)
        {
            var relevant = checks.Where(c => c.Concerns(client)).ToArray();
            var failing = relevant.Where(c => c.Outcome == AuditOutcome.Fail).ToList();
            var missing = relevant.Where(c => c.Outcome == AuditOutcome.Indeterminate).ToList();
            foreach (var source in requiredSources.Where(s => !relevant.Any(c => c.Source == s)))
            {
                missing.Add(new AuditCheck(source, $"{source} evidence", [client], AuditOutcome.Indeterminate, "no evidence gathered for this client"));
            }

            var outcome = failing.Count > 0 ? AuditOutcome.Fail : missing.Count > 0 ? AuditOutcome.Indeterminate : AuditOutcome.Pass;
            results.Add(new ClientAuditResult(client, outcome, failing, missing));
        }

        return results;
    }
}
