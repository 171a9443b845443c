using System.Globalization;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Inventory;

/// <summary>
/// Refuses agent data that would make the port model lie. Tables that identify ports must agree (one
/// ifIndex per bridge port and one bridge port per ifIndex, ifIndex 1–2147483647), every table index must
/// have its MIB's shape, and no VLAN id may be 0 or 4095 (RFC 4363 VlanIndex: 1–4094 are 802.1Q VLANs,
/// above 4095 VLANs local to the agent, which no client owns); otherwise the inventory is an
/// <see cref="SnmpErrorKind.InconsistentData"/> error, which leaves the switch unverified — never clean.
/// Harmless oddities are tolerated where they are read: bitmap bits for bridge ports that do not exist,
/// short bitmaps (the missing ports are not members), FDB entries on unknown bridge ports.
/// </summary>
internal static class InventoryConsistency
{
    /// <summary>A VLAN id no VLAN may have (RFC 4363 VlanIndex excludes 0 and 4095).</summary>
    public static bool IsImpossibleVlan(int vlan) => vlan is < 1 or 4095;

    /// <summary>dot1dBasePortIfIndex as bridge port → ifIndex, refusing wrong types, ifIndex &lt; 1 and duplicates.</summary>
    public static Dictionary<int, int> BridgePortMap(IReadOnlyDictionary<Oid, IReadOnlyList<VarBind>> walked, string switchName, string instance = "")
    {
        ArgumentNullException.ThrowIfNull(walked);
        var map = new Dictionary<int, int>();
        var owner = new Dictionary<int, int>();
        foreach (var (bridgePort, value) in TableData.ByIntIndex(walked, Mib.Dot1dBasePortIfIndex, switchName: switchName).OrderBy(p => p.Key))
        {
            if (value.Type != SnmpType.Integer32)
            {
                throw Inconsistent(switchName, $"dot1dBasePortIfIndex.{bridgePort}{instance} is {value.Type}, not an INTEGER");
            }

            var ifIndex = (int)value.Number;
            if (ifIndex < 1)
            {
                throw Inconsistent(switchName, $"bridge port {bridgePort}{instance} maps to ifIndex {ifIndex} (dot1dBasePortIfIndex); an ifIndex is at least 1");
            }

            if (owner.TryGetValue(ifIndex, out var other))
            {
                throw Inconsistent(switchName, $"bridge ports {other} and {bridgePort}{instance} both map to ifIndex {ifIndex} (dot1dBasePortIfIndex)");
            }

            owner[ifIndex] = bridgePort;
            map[bridgePort] = ifIndex;
        }

        return map;
    }

    /// <summary>Checks a collected inventory: unique positive ifIndexes, possible VLAN ids everywhere.</summary>
    public static SwitchInventory Validated(SwitchInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        var name = inventory.Switch;
        foreach (var vlan in inventory.Vlans)
        {
            CheckVlan(name, vlan.Id, "the VLAN table");
        }

        var seen = new HashSet<int>();
        foreach (var port in inventory.Ports)
        {
            if (port.IfIndex < 1 || !seen.Add(port.IfIndex))
            {
                throw Inconsistent(name, $"ifIndex {port.IfIndex} ({port.Name}) is {(port.IfIndex < 1 ? "below 1" : "reported for two ports")}");
            }

            foreach (var vlan in port.AllVlans)
            {
                CheckVlan(name, vlan, $"port {port.Name}");
            }
        }

        foreach (var entry in inventory.Fdb)
        {
            CheckVlan(name, entry.Vlan, $"the forwarding table (MAC {entry.Mac})");
        }

        return inventory;
    }

    public static SnmpException Inconsistent(string switchName, string detail) =>
        new(SnmpErrorKind.InconsistentData, $"switch {switchName} reports inconsistent data: {detail}; its port model cannot be trusted");

    private static void CheckVlan(string switchName, int vlan, string where)
    {
        if (IsImpossibleVlan(vlan))
        {
            throw Inconsistent(switchName, string.Create(CultureInfo.InvariantCulture, $"VLAN {vlan} in {where} is not a VLAN id (0 and 4095 are reserved)"));
        }
    }
}
