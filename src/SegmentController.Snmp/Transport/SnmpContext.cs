namespace SegmentController.Snmp.Transport;

/// <summary>
/// A request context: a v3 contextName, and what the same context is in v2c (a community suffix, as
/// Cisco's community string indexing <c>community@vlan</c>).
/// </summary>
internal sealed record SnmpContext(string V3ContextName, string V2cCommunitySuffix)
{
    /// <summary>Cisco's per-VLAN BRIDGE-MIB instance: context <c>vlan-N</c>, community <c>…@N</c>.</summary>
    public static SnmpContext CiscoVlan(int vlan) => new($"vlan-{vlan}", $"@{vlan}");
}
