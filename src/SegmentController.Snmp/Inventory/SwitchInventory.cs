namespace SegmentController.Snmp.Inventory;

/// <summary>What one switch reported in one poll.</summary>
internal sealed record SwitchInventory
{
    public required string Switch { get; init; }

    public required IReadOnlyList<SwitchPort> Ports { get; init; }

    public required IReadOnlyList<VlanInfo> Vlans { get; init; }

    public required IReadOnlyList<FdbEntry> Fdb { get; init; }

    public SwitchPort? FindPort(string policyName) => Ports.FirstOrDefault(p => p.Matches(policyName));
}
