using SegmentController.Snmp.Inventory;

namespace SegmentController.Snmp.Polling;

/// <summary>The outcome of polling one switch: an inventory, or why there is none.</summary>
internal sealed record SwitchPollResult(string Switch, SwitchInventory? Inventory, string? Error, TimeSpan Elapsed)
{
    public bool Reachable => Inventory is not null;
}
