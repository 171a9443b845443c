using SegmentController.Core.Findings;

namespace SegmentController.Snmp.Polling;

/// <summary>Every switch's poll and the findings made from them.</summary>
internal sealed record SiteAuditResult(IReadOnlyList<SwitchPollResult> Switches, IReadOnlyList<Finding> Findings);
