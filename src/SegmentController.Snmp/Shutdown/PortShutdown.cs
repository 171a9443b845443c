using SegmentController.Core.Policy;
using SegmentController.Snmp.Checks;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Polling;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Shutdown;

/// <summary>
/// Cuts a client off at layer 2: ifAdminStatus=down(2) on each of its switch ports, read back to verify.
/// A port that is a trunk, an infrastructure uplink, or shared with another client or the management
/// VLAN is refused — cutting it would cut others — unless the client's kill.force_shut_ports names it.
/// Switches are handled in parallel, the ports of one switch in sequence.
/// </summary>
internal sealed class PortShutdown(TimeProvider time)
{
    private const int AdminUp = 1;
    private const int AdminDown = 2;

    public Task<IReadOnlyList<PortActionResult>> ShutAsync(SitePolicy policy, string clientId, CancellationToken cancellationToken) =>
        RunAsync(policy, clientId, up: false, only: null, cancellationToken);

    public Task<IReadOnlyList<PortActionResult>> RestoreAsync(SitePolicy policy, string clientId, CancellationToken cancellationToken) =>
        RunAsync(policy, clientId, up: true, only: null, cancellationToken);

    /// <summary>
    /// Brings up only <paramref name="ports"/> of the client (ports this controller shut that nothing needs shut
    /// any more), whatever its kill.shut_ports: a client that has its ports left alone must not find a port
    /// given to it left shut by the controller. The same refusals as a restore apply; a port the client does
    /// not have is refused.
    /// </summary>
    public Task<IReadOnlyList<PortActionResult>> ReleaseAsync(SitePolicy policy, string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ports);
        return RunAsync(policy, clientId, up: true, only: ports, cancellationToken);
    }

    private async Task<IReadOnlyList<PortActionResult>> RunAsync(SitePolicy policy, string clientId, bool up, IReadOnlyList<PortAssignment>? only, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var client = policy.FindClient(clientId) ?? throw new ArgumentException($"the policy has no client '{clientId}'", nameof(clientId));
        var action = up ? "restore" : "shut";
        var wanted = client.Segments.SelectMany(s => s.Ports).Select(p => (p.Switch, Port: p, Forced: false))
            .Concat(client.Kill.ForceShutPorts.Select(p => (p.Switch, Port: p, Forced: true)))
            .SelectMany(x => x.Port.Ports.Select(name => (x.Switch, Name: name, x.Forced)))
            .GroupBy(x => (x.Switch, x.Name.ToUpperInvariant()))
            .Select(g => (g.First().Switch, g.First().Name, Forced: g.Any(x => x.Forced)))
            .ToArray();
        if (only is not null)
        {
            var asked = only.SelectMany(p => p.Ports.Select(name => (p.Switch, Name: name))).ToArray();
            var notTheClients = asked
                .Where(a => !wanted.Any(w => string.Equals(w.Switch, a.Switch, StringComparison.Ordinal) && string.Equals(w.Name, a.Name, StringComparison.OrdinalIgnoreCase)))
                .Select(a => new PortActionResult(a.Switch, a.Name, null, action, PortActionOutcome.Refused, $"{a.Name} is not, in the policy in force, a port of the client it was released to", TimeSpan.Zero))
                .ToArray();
            wanted = [.. wanted.Where(w => asked.Any(a => string.Equals(w.Switch, a.Switch, StringComparison.Ordinal) && string.Equals(w.Name, a.Name, StringComparison.OrdinalIgnoreCase)))];
            var released = await Task.WhenAll(wanted.GroupBy(w => w.Switch, StringComparer.Ordinal)
                .Select(group => RunOnSwitchAsync(policy, client, group.Key, group.Select(g => (g.Name, g.Forced)).ToArray(), up, cancellationToken))).ConfigureAwait(false);
            return [.. notTheClients, .. released.SelectMany(r => r)];
        }

        if (!client.Kill.ShutPorts)
        {
            return wanted.Select(w => new PortActionResult(w.Switch, w.Name, null, action, PortActionOutcome.Refused, $"the policy turns port shutdown off for client {client.Id} (kill.shut_ports: false)", TimeSpan.Zero)).ToArray();
        }

        var perSwitch = wanted.GroupBy(w => w.Switch, StringComparer.Ordinal);
        var results = await Task.WhenAll(perSwitch.Select(group => RunOnSwitchAsync(policy, client, group.Key, group.Select(g => (g.Name, g.Forced)).ToArray(), up, cancellationToken))).ConfigureAwait(false);
        return results.SelectMany(r => r).ToArray();
    }

    private async Task<IReadOnlyList<PortActionResult>> RunOnSwitchAsync(SitePolicy policy, ClientDefinition client, string switchName, (string Name, bool Forced)[] ports, bool up, CancellationToken cancellationToken)
    {
        var action = up ? "restore" : "shut";
        var definition = policy.FindSwitch(switchName);
        if (definition is null)
        {
            return ports.Select(p => new PortActionResult(switchName, p.Name, null, action, PortActionOutcome.Failed, $"the policy has no switch '{switchName}'", TimeSpan.Zero)).ToArray();
        }

        var started = time.GetTimestamp();
        SnmpClient snmp;
        IReadOnlyList<(int IfIndex, string Name, string Descr)> interfaces;
        SwitchInventory inventory;
        try
        {
            snmp = await SwitchConnections.ConnectAsync(definition, time, cancellationToken).ConfigureAwait(false);
        }
        catch (SnmpException e)
        {
            return ports.Select(p => new PortActionResult(switchName, p.Name, null, action, PortActionOutcome.Failed, e.Message, time.GetElapsedTime(started))).ToArray();
        }

        await using (snmp.ConfigureAwait(false))
        {
            try
            {
                interfaces = await ReadInterfacesAsync(snmp, definition.MaxRepetitions, cancellationToken).ConfigureAwait(false);
                inventory = await InventoryDrivers.For(definition.Profile).CollectAsync(snmp, switchName, definition.MaxRepetitions, includeFdb: false, cancellationToken).ConfigureAwait(false);
            }
            catch (SnmpException e)
            {
                return ports.Select(p => new PortActionResult(switchName, p.Name, null, action, PortActionOutcome.Failed, $"cannot read the switch: {e.Message}", time.GetElapsedTime(started))).ToArray();
            }

            var view = new SwitchPolicyView(policy, switchName);
            var results = new List<PortActionResult>();
            foreach (var (name, forced) in ports)
            {
                var portStarted = time.GetTimestamp();
                var ifIndex = inventory.FindPort(name)?.IfIndex
                    ?? interfaces.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(i.Descr, name, StringComparison.OrdinalIgnoreCase)).IfIndex;
                if (ifIndex == 0)
                {
                    results.Add(new PortActionResult(switchName, name, null, action, PortActionOutcome.Failed, $"switch {switchName} reports no port named {name}", time.GetElapsedTime(portStarted)));
                    continue;
                }

                var refusal = forced ? null : RefusalReason(view, client, inventory.Ports.FirstOrDefault(p => p.IfIndex == ifIndex), name);
                if (refusal is not null)
                {
                    results.Add(new PortActionResult(switchName, name, ifIndex, action, PortActionOutcome.Refused, $"{refusal}; name it in kill.force_shut_ports to {action} it anyway", time.GetElapsedTime(portStarted)));
                    continue;
                }

                results.Add(await SetAdminStatusAsync(snmp, switchName, name, ifIndex, up, portStarted, cancellationToken).ConfigureAwait(false));
            }

            return results;
        }
    }

    /// <summary>
    /// Why a port of <paramref name="client"/> is not set, or null. The reason goes on that client's suspension
    /// record, in full into its evidence export: it names no other client, nor another client's VLANs.
    /// </summary>
    private static string? RefusalReason(SwitchPolicyView view, ClientDefinition client, SwitchPort? port, string name)
    {
        if (view.TrunkPorts.Any(t => string.Equals(t, name, StringComparison.OrdinalIgnoreCase) || (port is not null && port.Matches(t))))
        {
            return $"{name} is an infrastructure trunk/uplink (infrastructure.trunk_ports)";
        }

        var others = view.ClientPorts.Where(c => !string.Equals(c.Client, client.Id, StringComparison.Ordinal)
            && (string.Equals(c.Port, name, StringComparison.OrdinalIgnoreCase) || (port is not null && port.Matches(c.Port)))).Select(c => c.Client).Distinct().ToArray();
        if (others.Length > 0)
        {
            return $"{name} is shared with another client";
        }

        if (port is null)
        {
            return null;
        }

        if (port.Mode == PortMode.Trunk)
        {
            return $"{name} is a trunk ({port.AllVlans.Count()} VLANs)";
        }

        var foreignOwners = view.OwnersOfVlans(port.AllVlans).Where(o => !string.Equals(o, client.Id, StringComparison.Ordinal)).ToArray();
        if (foreignOwners.Length > 0)
        {
            return $"{name} carries another client's VLANs";
        }

        var management = port.AllVlans.Where(view.ManagementVlans.Contains).ToArray();
        return management.Length > 0 ? $"{name} is in management VLAN {string.Join(", ", management)} (infrastructure)" : null;
    }

    private async Task<PortActionResult> SetAdminStatusAsync(ISnmpClient snmp, string switchName, string name, int ifIndex, bool up, long started, CancellationToken cancellationToken)
    {
        var action = up ? "restore" : "shut";
        var wanted = up ? AdminUp : AdminDown;
        var oid = Mib.IfAdminStatus.Append((uint)ifIndex);
        try
        {
            await snmp.SetAsync([new VarBind(oid, SnmpValue.Integer(wanted))], cancellationToken: cancellationToken).ConfigureAwait(false);
            var readBack = await snmp.GetAsync([oid], cancellationToken: cancellationToken).ConfigureAwait(false);
            var actual = readBack[0].Value.AsInt32();
            return actual == wanted
                ? new PortActionResult(switchName, name, ifIndex, action, PortActionOutcome.Done, $"ifAdminStatus is {Mib.AdminStatusName(actual)}", time.GetElapsedTime(started))
                : new PortActionResult(switchName, name, ifIndex, action, PortActionOutcome.Failed, $"set ifAdminStatus {Mib.AdminStatusName(wanted)} but read back {readBack[0].Value}", time.GetElapsedTime(started));
        }
        catch (SnmpException e)
        {
            return new PortActionResult(switchName, name, ifIndex, action, PortActionOutcome.Failed, e.Message, time.GetElapsedTime(started));
        }
    }

    private static async Task<IReadOnlyList<(int IfIndex, string Name, string Descr)>> ReadInterfacesAsync(ISnmpClient snmp, int maxRepetitions, CancellationToken cancellationToken)
    {
        var walked = await TableWalker.WalkAsync(snmp, [Mib.IfDescr, Mib.IfName], maxRepetitions, cancellationToken: cancellationToken).ConfigureAwait(false);
        var names = TableData.ByIntIndex(walked, Mib.IfName);
        return TableData.ByIntIndex(walked, Mib.IfDescr)
            .Select(d => (d.Key, names.GetValueOrDefault(d.Key)?.AsText() ?? "", d.Value.AsText()))
            .ToArray();
    }
}
