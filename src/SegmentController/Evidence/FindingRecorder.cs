using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Evidence;

/// <summary>
/// Records every finding in the tamper-evident store, a finding of several clients with each client's own
/// view beside it (<see cref="FindingRecords"/>), redacted against the policy in force. A failure propagates:
/// unrecorded evidence is not healthy.
/// </summary>
internal sealed class FindingRecorder(IRecordAppender store, IPolicyProvider policy) : IFindingConsumer
{
    public async ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var current = policy.Current;
        // Queued together, the appends commit in one or a few transactions rather than one per finding.
        var appends = findings.Select(finding => FindingRecords.AppendAsync(store, finding, current, cancellationToken)).ToArray();
        await Task.WhenAll(appends).ConfigureAwait(false);
    }
}
