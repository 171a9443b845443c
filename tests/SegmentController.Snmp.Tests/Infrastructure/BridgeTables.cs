using System.Globalization;
using System.Text;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// The BRIDGE-MIB and Q-BRIDGE-MIB tables of an access switch as snmpsimd data (<c>.snmprec</c>), as
/// <c>lab/tools/snmprec.py</c> writes them for the lab switch: bridge port N on the Nth access port,
/// mapped to the port's real ifIndex, untagged in its VLAN (its PVID), one FDB per VLAN, no MAC learned.
/// </summary>
internal static class BridgeTables
{
    /// <summary>One bridge port: the interface's ifIndex and the VLAN it is an untagged member of.</summary>
    public readonly record struct BridgePort(int IfIndex, int Vlan);

    public static string Snmprec(IReadOnlyList<BridgePort> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var rows = new List<(int[] Oid, string Type, string Value)>();
        void Add(string oid, string type, string value) => rows.Add((oid.Split('.').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray(), type, value));

        Add("1.3.6.1.2.1.17.1.1.0", "4x", "029900000001"); // dot1dBaseBridgeAddress
        Add("1.3.6.1.2.1.17.1.2.0", "2", Text(ports.Count)); // dot1dBaseNumPorts
        Add("1.3.6.1.2.1.17.1.3.0", "2", "2"); // dot1dBaseType: transparent-only
        for (var n = 1; n <= ports.Count; n++)
        {
            Add($"1.3.6.1.2.1.17.1.4.1.1.{n}", "2", Text(n)); // dot1dBasePort
            Add($"1.3.6.1.2.1.17.1.4.1.2.{n}", "2", Text(ports[n - 1].IfIndex)); // dot1dBasePortIfIndex
            Add($"1.3.6.1.2.1.17.7.1.4.5.1.1.{n}", "66", Text(ports[n - 1].Vlan)); // dot1qPvid
        }

        foreach (var vlan in ports.Select(p => p.Vlan).Distinct().Order())
        {
            var members = Bitmap(ports.Count, n => ports[n - 1].Vlan == vlan);
            var none = Bitmap(ports.Count, _ => false);
            Add($"1.3.6.1.2.1.17.7.1.4.2.1.3.0.{vlan}", "66", Text(vlan)); // dot1qVlanFdbId
            Add($"1.3.6.1.2.1.17.7.1.4.2.1.4.0.{vlan}", "4x", members); // dot1qVlanCurrentEgressPorts
            Add($"1.3.6.1.2.1.17.7.1.4.2.1.5.0.{vlan}", "4x", members); // dot1qVlanCurrentUntaggedPorts
            Add($"1.3.6.1.2.1.17.7.1.4.2.1.6.0.{vlan}", "2", "2"); // dot1qVlanStatus: permanent
            Add($"1.3.6.1.2.1.17.7.1.4.3.1.1.{vlan}", "4", $"vlan{vlan}"); // dot1qVlanStaticName
            Add($"1.3.6.1.2.1.17.7.1.4.3.1.2.{vlan}", "4x", members); // dot1qVlanStaticEgressPorts
            Add($"1.3.6.1.2.1.17.7.1.4.3.1.3.{vlan}", "4x", none); // dot1qVlanForbiddenEgressPorts
            Add($"1.3.6.1.2.1.17.7.1.4.3.1.4.{vlan}", "4x", members); // dot1qVlanStaticUntaggedPorts
            Add($"1.3.6.1.2.1.17.7.1.4.3.1.5.{vlan}", "2", "1"); // dot1qVlanStaticRowStatus: active
        }

        // snmpsimd finds the next OID by the order of the file: it must be sorted by OID.
        rows.Sort((a, b) => a.Oid.AsSpan().SequenceCompareTo(b.Oid));
        var text = new StringBuilder();
        foreach (var (oid, type, value) in rows)
        {
            text.Append(string.Join('.', oid)).Append('|').Append(type).Append('|').Append(value).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>A Q-BRIDGE PortList: the MSB of the first octet is bridge port 1; at least four octets.</summary>
    private static string Bitmap(int ports, Func<int, bool> member)
    {
        var octets = new byte[Math.Max(4, (ports + 7) / 8)];
        for (var n = 1; n <= ports; n++)
        {
            if (member(n))
            {
                octets[(n - 1) / 8] |= (byte)(0x80 >> ((n - 1) % 8));
            }
        }

        return Convert.ToHexStringLower(octets);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
