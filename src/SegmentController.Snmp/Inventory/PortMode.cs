namespace SegmentController.Snmp.Inventory;

/// <summary>Whether a port carries one untagged VLAN or tagged VLANs.</summary>
internal enum PortMode
{
    Access,
    Trunk,
}
