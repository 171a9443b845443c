using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;

namespace SegmentController.Snmp.Polling;

/// <summary>Polls every switch of a policy and judges the answers: the work of <c>segctl snmp check</c> and of one service cycle.</summary>
internal sealed class SiteAudit(TimeProvider time)
{
    private readonly SwitchPoller _poller = new(time);

    public async Task<SiteAuditResult> RunAsync(SitePolicy policy, IReadOnlyDictionary<string, SwitchInventory>? previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var results = await _poller.PollAllAsync(policy.Switches, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var polls = new List<SwitchPollResult>();
        var findings = new List<Finding>();
        foreach (var (definition, result) in policy.Switches.Zip(results))
        {
            var judged = SwitchJudge.Judge(policy, definition, result, previous?.GetValueOrDefault(definition.Name), now);
            polls.Add(judged.Poll);
            findings.AddRange(judged.Findings);
        }

        return new SiteAuditResult(polls, findings);
    }
}
