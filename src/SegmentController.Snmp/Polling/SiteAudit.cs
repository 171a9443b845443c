using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Checks;
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
        var findings = new List<Finding>();
        foreach (var (definition, result) in policy.Switches.Zip(results))
        {
            if (IsolationChecker.Insecure(definition, now) is { } insecure)
            {
                findings.Add(insecure);
            }

            if (result.Inventory is null)
            {
                findings.Add(IsolationChecker.Unreachable(policy, definition, result.Error ?? "no answer", now));
                continue;
            }

            findings.AddRange(IsolationChecker.Check(policy, definition, result.Inventory, previous?.GetValueOrDefault(definition.Name), now));
        }

        return new SiteAuditResult(results, findings);
    }
}
