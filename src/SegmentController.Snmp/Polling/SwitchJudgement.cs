using SegmentController.Core.Findings;

namespace SegmentController.Snmp.Polling;

/// <summary>A switch's poll as judged (without an inventory when the checks could not use it) and its findings.</summary>
internal sealed record SwitchJudgement(SwitchPollResult Poll, IReadOnlyList<Finding> Findings)
{
    /// <summary>Whether the switch was inventoried and checked: the value of <c>segctl_switch_reachable</c>.</summary>
    public bool Verified => Poll.Reachable;
}
