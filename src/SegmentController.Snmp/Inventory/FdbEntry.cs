namespace SegmentController.Snmp.Inventory;

/// <summary>A learned MAC address: lower-case, colon-separated; the ifIndex is null when the bridge port has none.</summary>
internal sealed record FdbEntry(string Mac, int Vlan, int? IfIndex);
