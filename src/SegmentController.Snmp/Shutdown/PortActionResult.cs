namespace SegmentController.Snmp.Shutdown;

/// <summary>One port's outcome in a shutdown or restore.</summary>
internal sealed record PortActionResult(string Switch, string Port, int? IfIndex, string Action, PortActionOutcome Outcome, string Detail, TimeSpan Elapsed);
