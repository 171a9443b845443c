namespace SegmentController.Core.Audits;

/// <summary>
/// Gathers one kind of audit evidence. Implemented by the SNMP layer (isolation checks of every switch),
/// the capture layer (findings and loss in the window), the proxy (TLS and route configuration), and
/// here for the policy hash and the store verification. A source that cannot gather its evidence
/// returns indeterminate checks (or throws: the runner records that as indeterminate).
/// </summary>
public interface IAuditEvidenceSource
{
    /// <summary>Short stable name: snmp, capture, proxy, policy, store.</summary>
    string Name { get; }

    Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken);
}
