namespace SegmentController.Core.Policy;

/// <summary>The MIBs a switch's VLANs are read from.</summary>
public enum SwitchProfile
{
    /// <summary>IEEE 802.1Q-BRIDGE-MIB (RFC 4363).</summary>
    QBridge,

    /// <summary>CISCO-VTP-MIB and CISCO-VLAN-MEMBERSHIP-MIB, per-VLAN BRIDGE-MIB contexts.</summary>
    Cisco,
}
