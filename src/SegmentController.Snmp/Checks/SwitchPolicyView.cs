using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;

namespace SegmentController.Snmp.Checks;

/// <summary>What the site policy says about one switch: who owns which port and VLAN.</summary>
internal sealed class SwitchPolicyView
{
    public SwitchPolicyView(SitePolicy policy, string switchName)
    {
        ArgumentNullException.ThrowIfNull(policy);
        SwitchName = switchName;
        foreach (var client in policy.Clients)
        {
            var vlans = new HashSet<int>();
            foreach (var segment in client.Segments)
            {
                foreach (var vlan in segment.Vlans)
                {
                    vlans.Add(vlan);
                    if (!VlanOwners.TryGetValue(vlan, out var owners))
                    {
                        VlanOwners[vlan] = owners = new SortedSet<string>(StringComparer.Ordinal);
                    }

                    owners.Add(client.Id);
                }

                foreach (var assignment in segment.Ports.Where(p => string.Equals(p.Switch, switchName, StringComparison.Ordinal)))
                {
                    foreach (var port in assignment.Ports)
                    {
                        ClientPorts.Add((client.Id, port));
                    }
                }
            }

            ClientVlans[client.Id] = vlans;
        }

        TrunkPorts = policy.Infrastructure.TrunkPorts
            .Where(p => string.Equals(p.Switch, switchName, StringComparison.Ordinal))
            .SelectMany(p => p.Ports)
            .ToArray();
        ManagementVlans = policy.Infrastructure.ManagementVlans.ToHashSet();
    }

    public string SwitchName { get; }

    public Dictionary<int, SortedSet<string>> VlanOwners { get; } = [];

    public Dictionary<string, HashSet<int>> ClientVlans { get; } = new(StringComparer.Ordinal);

    /// <summary>(client id, policy port name) for every port the policy gives a client on this switch.</summary>
    public List<(string Client, string Port)> ClientPorts { get; } = [];

    public IReadOnlyList<string> TrunkPorts { get; }

    public HashSet<int> ManagementVlans { get; }

    /// <summary>Clients the policy gives this port to.</summary>
    public SortedSet<string> OwnersOf(SwitchPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return new SortedSet<string>(ClientPorts.Where(c => port.Matches(c.Port)).Select(c => c.Client), StringComparer.Ordinal);
    }

    public bool IsInfrastructureTrunk(SwitchPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return TrunkPorts.Any(port.Matches);
    }

    public SortedSet<string> OwnersOfVlans(IEnumerable<int> vlans)
    {
        var owners = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var vlan in vlans)
        {
            if (VlanOwners.TryGetValue(vlan, out var o))
            {
                owners.UnionWith(o);
            }
        }

        return owners;
    }

    /// <summary>Every port name the policy mentions on this switch (client ports and trunks).</summary>
    public IEnumerable<string> NamedPorts => ClientPorts.Select(c => c.Port).Concat(TrunkPorts).Distinct(StringComparer.OrdinalIgnoreCase);
}
