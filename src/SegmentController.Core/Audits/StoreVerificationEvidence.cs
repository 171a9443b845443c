using SegmentController.Core.Evidence;

namespace SegmentController.Core.Audits;

/// <summary>Verifies the evidence store: a broken chain fails every client's audit.</summary>
public sealed class StoreVerificationEvidence(IEvidenceStore store) : IAuditEvidenceSource
{
    public string Name => "store";

    public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        progress.Report("store: verifying the evidence chain");
        var report = await store.VerifyAsync(cancellationToken).ConfigureAwait(false);
        return
        [
            report.Problem is { } p
                ? new AuditCheck(Name, "evidence chain", [], AuditOutcome.Fail, $"first bad record {p.Index}: {p.Reason}")
                : new AuditCheck(Name, "evidence chain", [], AuditOutcome.Pass, $"{report.Count} records intact"),
        ];
    }
}
