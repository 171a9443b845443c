namespace SegmentController.Snmp.Inventory;

/// <summary>One switch port as the switch reports it.</summary>
internal sealed record SwitchPort
{
    public required int IfIndex { get; init; }

    public required string Name { get; init; }

    public string Alias { get; init; } = "";

    /// <summary>IF-MIB ifAdminStatus name: up, down, testing.</summary>
    public string Admin { get; init; } = "unknown";

    /// <summary>IF-MIB ifOperStatus name: up, down, testing, unknown, dormant, notPresent, lowerLayerDown.</summary>
    public string Oper { get; init; } = "unknown";

    public PortMode Mode { get; init; }

    /// <summary>The access VLAN (Q-BRIDGE PVID, Cisco vmVlan), or a trunk's native VLAN.</summary>
    public int? AccessVlan { get; init; }

    public IReadOnlyList<int> TaggedVlans { get; init; } = [];

    /// <summary>
    /// VLANs the port egresses untagged besides its access VLAN (a Q-BRIDGE port whose untagged memberships are
    /// more than its PVID): their frames reach the port's station as the access VLAN's do.
    /// </summary>
    public IReadOnlyList<int> UntaggedVlans { get; init; } = [];

    /// <summary>Every VLAN the port carries: the access/native VLAN, the tagged ones and the other untagged ones.</summary>
    public IEnumerable<int> AllVlans => (AccessVlan is { } v ? TaggedVlans.Append(v) : TaggedVlans).Concat(UntaggedVlans).Distinct();

    /// <summary>Whether this port answers to a policy port name: ifName, ifDescr-like name, or the decimal ifIndex.</summary>
    public bool Matches(string policyName) =>
        string.Equals(Name, policyName, StringComparison.OrdinalIgnoreCase)
        || string.Equals(IfIndex.ToString(System.Globalization.CultureInfo.InvariantCulture), policyName, StringComparison.Ordinal);
}
