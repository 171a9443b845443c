using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Checks;

/// <summary>
/// Judges one switch's inventory against the site policy. One finding per rule per port (FDB findings
/// carry the count of MACs), evidence keyed <c>switch</c>, <c>port</c>, <c>if_index</c>, <c>vlan</c>, <c>mac</c>.
/// </summary>
internal static class IsolationChecker
{
    public static IReadOnlyList<Finding> Check(SitePolicy policy, SwitchDefinition switchDefinition, SwitchInventory inventory, SwitchInventory? previous, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(switchDefinition);
        ArgumentNullException.ThrowIfNull(inventory);
        // The drivers hand over validated inventories; one built any other way must not be judged half-way.
        InventoryConsistency.Validated(inventory);
        var view = new SwitchPolicyView(policy, switchDefinition.Name);
        var findings = new List<Finding>();
        var name = switchDefinition.Name;
        var allClientVlans = view.VlanOwners.Keys.ToHashSet();
        var named = view.NamedPorts.Count();
        if (inventory.Ports.Count == 0 && named > 0)
        {
            // Nothing to judge is no isolation shown: an agent whose view hides the profile's tables (or a wrong profile)
            // would otherwise pass as a switch on which every policy port merely drifted away.
            throw new SnmpException(SnmpErrorKind.InconsistentData, $"switch {name} reports no port at all, though the policy names {named} on it: the tables of its profile ({switchDefinition.Profile.ToString().ToLowerInvariant()}) are missing or hidden from these credentials");
        }

        foreach (var port in inventory.Ports)
        {
            var owners = view.OwnersOf(port);
            var infrastructureTrunk = view.IsInfrastructureTrunk(port);
            var vlans = port.AllVlans.Order().ToArray();
            var vlanOwners = view.OwnersOfVlans(vlans);

            if (!infrastructureTrunk && (owners.Count > 1 || vlanOwners.Count > 1))
            {
                var clients = owners.Union(vlanOwners).ToArray();
                findings.Add(Create(RuleIds.PortSharedByClients, clients,
                    $"{name} port {port.Name} carries VLANs of {clients.Length} clients ({string.Join(", ", clients)})",
                    name, port, vlans));
            }

            // Untagged memberships are access memberships: an access port's VLAN, and a hybrid port's PVID and the
            // other VLANs it egresses untagged (a trunk's native VLAN is judged with its tagged ones).
            var untagged = port.Mode == PortMode.Access || port.UntaggedVlans.Count > 0
                ? (port.AccessVlan is { } access ? port.UntaggedVlans.Prepend(access) : port.UntaggedVlans).Distinct().ToArray()
                : [];
            var foreignUntagged = owners.Count > 0 ? untagged.Where(v => owners.Any(o => !view.ClientVlans[o].Contains(v))).ToArray() : [];
            if (foreignUntagged.Length > 0)
            {
                var whose = view.OwnersOfVlans(foreignUntagged);
                var clients = owners.Union(whose).ToArray();
                findings.Add(Create(RuleIds.PortVlanMismatch, clients,
                    $"{name} port {port.Name} of {string.Join(", ", owners)} is an access member of VLAN {string.Join(", ", foreignUntagged)}, which {(foreignUntagged.Length > 1 ? "are" : "is")} {(whose.Count == 0 ? "no client's" : string.Join(", ", whose) + "'s")}",
                    name, port, foreignUntagged.Length == 1 ? foreignUntagged[0] : foreignUntagged));
            }

            // A trunk, or an access port with tagged VLANs besides (a Cisco voice VLAN): every VLAN it carries must be expected.
            if ((port.Mode == PortMode.Trunk || port.TaggedVlans.Count > 0) && (infrastructureTrunk || owners.Count == 1))
            {
                var expected = infrastructureTrunk
                    ? allClientVlans.Union(view.ManagementVlans).ToHashSet()
                    : view.ClientVlans[owners.Min!];
                var foreign = vlans.Where(v => !expected.Contains(v)).ToArray();
                if (foreign.Length > 0)
                {
                    var clients = infrastructureTrunk ? vlanOwners.ToArray() : owners.Union(view.OwnersOfVlans(foreign)).ToArray();
                    findings.Add(Create(RuleIds.TrunkCarriesForeignVlan, clients,
                        $"{name} {(port.Mode == PortMode.Trunk ? "trunk" : "port")} {port.Name} carries VLAN{(foreign.Length > 1 ? "s" : "")} {string.Join(", ", foreign)} the policy does not expect on it",
                        name, port, foreign.Length == 1 ? foreign[0] : foreign));
                }
            }

            if (owners.Count == 0 && !infrastructureTrunk && vlanOwners.Count > 0)
            {
                var clientVlans = vlans.Where(allClientVlans.Contains).ToArray();
                findings.Add(Create(RuleIds.UnassignedPortInClientVlan, vlanOwners,
                    $"{name} port {port.Name}, which the policy gives to no client, is a member of VLAN {string.Join(", ", clientVlans)} ({string.Join(", ", vlanOwners)})",
                    name, port, clientVlans.Length == 1 ? clientVlans[0] : clientVlans));
            }
        }

        findings.AddRange(ForeignMacs(view, inventory, now));
        findings.AddRange(Drift(view, inventory, previous, now));
        return findings;

        Finding Create(string rule, IEnumerable<string> clients, string summary, string switchName, SwitchPort port, object vlan) =>
            Finding.Create(rule, clients, summary, Evidence(switchName, port, vlan, null), now);
    }

    private static IEnumerable<Finding> ForeignMacs(SwitchPolicyView view, SwitchInventory inventory, DateTimeOffset now)
    {
        var byIfIndex = inventory.Ports.ToDictionary(p => p.IfIndex);
        var suspicious = inventory.Fdb
            .Where(e => e.IfIndex is not null && view.VlanOwners.ContainsKey(e.Vlan) && byIfIndex.ContainsKey(e.IfIndex.Value))
            .Where(e =>
            {
                var port = byIfIndex[e.IfIndex!.Value];
                return port.Mode != PortMode.Trunk && !view.IsInfrastructureTrunk(port)
                    && !view.OwnersOf(port).Overlaps(view.VlanOwners[e.Vlan]);
            })
            .GroupBy(e => e.IfIndex!.Value);
        foreach (var group in suspicious.OrderBy(g => g.Key))
        {
            var port = byIfIndex[group.Key];
            var entries = group.OrderBy(e => e.Mac, StringComparer.Ordinal).ToArray();
            var vlans = entries.Select(e => e.Vlan).Distinct().Order().ToArray();
            var clients = view.OwnersOfVlans(vlans);
            var evidence = Evidence(inventory.Switch, port, vlans.Length == 1 ? vlans[0] : vlans, entries[0].Mac);
            evidence["count"] = entries.Length;
            // The port's owner is concerned too (its port carries another client's stations), and the record
            // names the port: keyed to the VLANs' owners alone, it would go in full into their exports.
            yield return Finding.Create(RuleIds.ForeignMac, clients.Union(view.OwnersOf(port)),
                $"{inventory.Switch} port {port.Name} has {entries.Length} MAC{(entries.Length > 1 ? "s" : "")} learned in VLAN {string.Join(", ", vlans)} ({string.Join(", ", clients)}) on a port that is neither theirs nor a trunk",
                evidence, now);
        }
    }

    private static IEnumerable<Finding> Drift(SwitchPolicyView view, SwitchInventory inventory, SwitchInventory? previous, DateTimeOffset now)
    {
        foreach (var named in view.NamedPorts.Order(StringComparer.Ordinal))
        {
            if (inventory.FindPort(named) is null)
            {
                var owners = view.ClientPorts.Where(c => string.Equals(c.Port, named, StringComparison.OrdinalIgnoreCase)).Select(c => c.Client);
                yield return Finding.Create(RuleIds.InventoryDrift, owners,
                    $"the policy names port {named} on {inventory.Switch}, which the switch does not report",
                    new Dictionary<string, object?>(StringComparer.Ordinal) { ["switch"] = inventory.Switch, ["port"] = named }, now);
            }
        }

        if (previous is null)
        {
            yield break;
        }

        var before = previous.Ports.ToDictionary(p => p.IfIndex);
        foreach (var port in inventory.Ports)
        {
            if (!before.TryGetValue(port.IfIndex, out var old))
            {
                yield return Finding.Create(RuleIds.InventoryDrift, view.OwnersOf(port), $"{inventory.Switch} port {port.Name} appeared since the last poll", Evidence(inventory.Switch, port, port.AccessVlan, null), now);
                continue;
            }

            var changes = new List<string>();
            if (old.Mode != port.Mode)
            {
                changes.Add($"mode {old.Mode.ToString().ToLowerInvariant()}→{port.Mode.ToString().ToLowerInvariant()}");
            }

            if (old.AccessVlan != port.AccessVlan)
            {
                changes.Add($"access VLAN {old.AccessVlan?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}→{port.AccessVlan?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
            }

            if (!old.TaggedVlans.SequenceEqual(port.TaggedVlans))
            {
                changes.Add($"tagged VLANs [{string.Join(",", old.TaggedVlans)}]→[{string.Join(",", port.TaggedVlans)}]");
            }

            if (!old.UntaggedVlans.SequenceEqual(port.UntaggedVlans))
            {
                changes.Add($"other untagged VLANs [{string.Join(",", old.UntaggedVlans)}]→[{string.Join(",", port.UntaggedVlans)}]");
            }

            if (old.Admin != port.Admin)
            {
                changes.Add($"admin {old.Admin}→{port.Admin}");
            }

            if (changes.Count > 0)
            {
                yield return Finding.Create(RuleIds.InventoryDrift, view.OwnersOf(port),
                    $"{inventory.Switch} port {port.Name} changed since the last poll: {string.Join("; ", changes)}",
                    Evidence(inventory.Switch, port, port.AccessVlan, null), now);
            }
        }
    }

    /// <summary>A switch that did not answer, or refused the credentials. Never clean.</summary>
    public static Finding Unreachable(SitePolicy policy, SwitchDefinition switchDefinition, string error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(switchDefinition);
        var view = new SwitchPolicyView(policy, switchDefinition.Name);
        var clients = view.ClientPorts.Select(c => c.Client);
        return Finding.Create(RuleIds.SwitchUnreachable, clients,
            $"switch {switchDefinition.Name} ({switchDefinition.Address}:{switchDefinition.Port}) cannot be inventoried: {error}",
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["switch"] = switchDefinition.Name }, now);
    }

    /// <summary>
    /// The <c>insecure-snmp</c> finding for a switch's SNMP settings, or null when they are sound. Like the
    /// other SNMP findings it names the clients with ports on the switch: theirs is the inventory an
    /// eavesdropper reads, or a forger alters.
    /// </summary>
    public static Finding? Insecure(SitePolicy policy, SwitchDefinition switchDefinition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(switchDefinition);
        var settings = switchDefinition.Snmp;
        var reason = new SnmpCredentials { Version = settings.Version, AuthProtocol = settings.AuthProtocol, PrivProtocol = settings.PrivProtocol }.InsecurityReason();
        if (reason is null)
        {
            return null;
        }

        var clients = new SwitchPolicyView(policy, switchDefinition.Name).ClientPorts.Select(c => c.Client);
        return Finding.Create(RuleIds.InsecureSnmp, clients, $"switch {switchDefinition.Name}: insecure SNMP: {reason}",
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["switch"] = switchDefinition.Name }, now);
    }

    private static Dictionary<string, object?> Evidence(string switchName, SwitchPort port, object? vlan, string? mac)
    {
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["switch"] = switchName,
            ["port"] = port.Name,
            ["if_index"] = port.IfIndex,
        };
        if (vlan is not null)
        {
            evidence["vlan"] = vlan;
        }

        if (mac is not null)
        {
            evidence["mac"] = mac;
        }

        return evidence;
    }
}
