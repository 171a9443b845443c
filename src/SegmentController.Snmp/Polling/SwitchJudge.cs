using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Checks;
using SegmentController.Snmp.Inventory;

namespace SegmentController.Snmp.Polling;

/// <summary>
/// Judges one switch's poll: <c>insecure-snmp</c> when its SNMP settings are weak, the isolation findings
/// of its inventory, or <c>switch-unreachable</c> when there is no inventory to judge. An inventory the
/// checks cannot judge (they fail on it) is no inventory: the switch is reported unverified, never clean.
/// The one place where <c>segctl snmp check</c>, audits and the polling service decide.
/// </summary>
internal static class SwitchJudge
{
    public static SwitchJudgement Judge(SitePolicy policy, SwitchDefinition switchDefinition, SwitchPollResult poll, SwitchInventory? previous, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(switchDefinition);
        ArgumentNullException.ThrowIfNull(poll);
        var findings = new List<Finding>();
        if (IsolationChecker.Insecure(policy, switchDefinition, now) is { } insecure)
        {
            findings.Add(insecure);
        }

        if (poll.Inventory is { } inventory)
        {
            try
            {
                findings.AddRange(IsolationChecker.Check(policy, switchDefinition, inventory, previous, now));
                return new SwitchJudgement(poll, findings);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                poll = poll with { Inventory = null, Error = $"its inventory cannot be checked: {e.GetType().Name}: {e.Message}" };
            }
        }

        findings.Add(IsolationChecker.Unreachable(policy, switchDefinition, poll.Error ?? "no answer", now));
        return new SwitchJudgement(poll, findings);
    }
}
