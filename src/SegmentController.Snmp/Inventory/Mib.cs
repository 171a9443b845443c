using SegmentController.Snmp.Protocol;

namespace SegmentController.Snmp.Inventory;

/// <summary>The OIDs the drivers read (IF-MIB, BRIDGE-MIB, Q-BRIDGE-MIB, CISCO-VTP-MIB, CISCO-VLAN-MEMBERSHIP-MIB).</summary>
internal static class Mib
{
    public static readonly Oid IfDescr = Oid.Parse("1.3.6.1.2.1.2.2.1.2");
    public static readonly Oid IfAdminStatus = Oid.Parse("1.3.6.1.2.1.2.2.1.7");
    public static readonly Oid IfOperStatus = Oid.Parse("1.3.6.1.2.1.2.2.1.8");
    public static readonly Oid IfName = Oid.Parse("1.3.6.1.2.1.31.1.1.1.1");
    public static readonly Oid IfAlias = Oid.Parse("1.3.6.1.2.1.31.1.1.1.18");

    public static readonly Oid Dot1dBasePortIfIndex = Oid.Parse("1.3.6.1.2.1.17.1.4.1.2");
    public static readonly Oid Dot1dTpFdbPort = Oid.Parse("1.3.6.1.2.1.17.4.3.1.2");
    public static readonly Oid Dot1dTpFdbStatus = Oid.Parse("1.3.6.1.2.1.17.4.3.1.3");

    public static readonly Oid Dot1qTpFdbPort = Oid.Parse("1.3.6.1.2.1.17.7.1.2.2.1.2");
    public static readonly Oid Dot1qTpFdbStatus = Oid.Parse("1.3.6.1.2.1.17.7.1.2.2.1.3");
    public static readonly Oid Dot1qVlanFdbId = Oid.Parse("1.3.6.1.2.1.17.7.1.4.2.1.3");
    public static readonly Oid Dot1qVlanCurrentEgressPorts = Oid.Parse("1.3.6.1.2.1.17.7.1.4.2.1.4");
    public static readonly Oid Dot1qVlanCurrentUntaggedPorts = Oid.Parse("1.3.6.1.2.1.17.7.1.4.2.1.5");
    public static readonly Oid Dot1qVlanStaticName = Oid.Parse("1.3.6.1.2.1.17.7.1.4.3.1.1");
    public static readonly Oid Dot1qVlanStaticEgressPorts = Oid.Parse("1.3.6.1.2.1.17.7.1.4.3.1.2");
    public static readonly Oid Dot1qVlanStaticUntaggedPorts = Oid.Parse("1.3.6.1.2.1.17.7.1.4.3.1.4");
    public static readonly Oid Dot1qPvid = Oid.Parse("1.3.6.1.2.1.17.7.1.4.5.1.1");

    public static readonly Oid VtpVlanState = Oid.Parse("1.3.6.1.4.1.9.9.46.1.3.1.1.2");
    public static readonly Oid VtpVlanName = Oid.Parse("1.3.6.1.4.1.9.9.46.1.3.1.1.4");
    public static readonly Oid VlanTrunkPortVlansEnabled = Oid.Parse("1.3.6.1.4.1.9.9.46.1.6.1.1.4");
    public static readonly Oid VlanTrunkPortNativeVlan = Oid.Parse("1.3.6.1.4.1.9.9.46.1.6.1.1.5");
    public static readonly Oid VlanTrunkPortDynamicStatus = Oid.Parse("1.3.6.1.4.1.9.9.46.1.6.1.1.14");
    public static readonly Oid VlanTrunkPortVlansEnabled2k = Oid.Parse("1.3.6.1.4.1.9.9.46.1.6.1.1.17");
    public static readonly Oid VlanTrunkPortVlansEnabled3k = Oid.Parse("1.3.6.1.4.1.9.9.46.1.6.1.1.18");
    public static readonly Oid VlanTrunkPortVlansEnabled4k = Oid.Parse("1.3.6.1.4.1.9.9.46.1.6.1.1.19");
    public static readonly Oid VmVlan = Oid.Parse("1.3.6.1.4.1.9.9.68.1.2.2.1.2");
    public static readonly Oid VmVoiceVlanId = Oid.Parse("1.3.6.1.4.1.9.9.68.1.5.1.1.1");

    public static string AdminStatusName(int? value) => value switch
    {
        1 => "up",
        2 => "down",
        3 => "testing",
        _ => "unknown",
    };

    public static string OperStatusName(int? value) => value switch
    {
        1 => "up",
        2 => "down",
        3 => "testing",
        5 => "dormant",
        6 => "notPresent",
        7 => "lowerLayerDown",
        _ => "unknown",
    };
}
