namespace SegmentController.Core.Audits;

/// <summary>The policy in force, by hash: a pass when it names a hash, indeterminate when it cannot.</summary>
public sealed class PolicyHashEvidence : IAuditEvidenceSource
{
    public string Name => "policy";

    public Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        progress.Report("policy: hashing the policy in force");
        var check = string.IsNullOrEmpty(scope.Policy.Sha256)
            ? new AuditCheck(Name, "policy hash", [], AuditOutcome.Indeterminate, "the policy in force has no recorded hash")
            : new AuditCheck(Name, "policy hash", [], AuditOutcome.Pass, $"sha256 {scope.Policy.Sha256}");
        return Task.FromResult<IReadOnlyList<AuditCheck>>([check]);
    }
}
