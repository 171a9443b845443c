namespace SegmentController.Snmp.Inventory;

/// <summary>A VLAN the switch knows; the name is null where the switch has none (dynamic VLANs).</summary>
internal sealed record VlanInfo(int Id, string? Name);
