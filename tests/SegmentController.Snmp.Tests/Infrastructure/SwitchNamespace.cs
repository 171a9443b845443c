using System.Security.Cryptography;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// A network namespace standing in for a switch: veth "ports" whose ifAdminStatus a real snmpd inside
/// the namespace controls, reached from the test over a point-to-point veth. Given access ports with their
/// VLANs, the switch also serves its BRIDGE-MIB and Q-BRIDGE-MIB tables, as the lab switch does: snmpd proxies
/// that subtree to snmpsimd on the namespace's loopback, serving tables built from the ports' real ifIndex.
/// Everything is removed on dispose.
/// </summary>
internal sealed class SwitchNamespace : IAsyncDisposable
{
    private const string BridgeCommunity = "bridge";
    private const string BridgeSubtree = ".1.3.6.1.2.1.17";

    private readonly string _hostLink;
    private SnmpdAgent? _agent;
    private SnmpsimAgent? _bridgeTables;

    private SwitchNamespace(string name, string hostLink, string agentAddress)
    {
        Name = name;
        _hostLink = hostLink;
        AgentAddress = agentAddress;
    }

    public string Name { get; }

    public string AgentAddress { get; }

    public SnmpdAgent Agent => _agent ?? throw new InvalidOperationException("not started");

    /// <summary>A switch with these ports and IF-MIB alone: no bridge, so no port in any VLAN.</summary>
    public static Task<SwitchNamespace> CreateAsync(params string[] ports) => CreateSwitchAsync(ports.Select(p => (p, (int?)null)).ToArray());

    /// <summary>
    /// An access switch: each port an untagged member of its VLAN (its PVID), in the order given as bridge
    /// ports 1, 2, …, its BRIDGE-MIB and Q-BRIDGE-MIB tables served by the switch's one agent.
    /// </summary>
    public static Task<SwitchNamespace> CreateAsync(params (string Port, int Vlan)[] accessPorts) => CreateSwitchAsync(accessPorts.Select(p => (p.Port, (int?)p.Vlan)).ToArray());

    private static async Task<SwitchNamespace> CreateSwitchAsync((string Name, int? Vlan)[] ports)
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var subnet = RandomNumberGenerator.GetInt32(0, 64) * 4;
        var octet = RandomNumberGenerator.GetInt32(1, 255);
        var name = $"segctl-snmp-{tag}";
        var host = $"sgh{tag}";
        var inner = $"sgi{tag}";
        var ns = new SwitchNamespace(name, host, $"10.251.{octet}.{subnet + 2}");
        try
        {
            await ExternalProcess.CheckedAsync("ip", "netns", "add", name);
            await ExternalProcess.CheckedAsync("ip", "link", "add", host, "type", "veth", "peer", "name", inner);
            await ExternalProcess.CheckedAsync("ip", "link", "set", inner, "netns", name);
            await ExternalProcess.CheckedAsync("ip", "addr", "add", $"10.251.{octet}.{subnet + 1}/30", "dev", host);
            await ExternalProcess.CheckedAsync("ip", "link", "set", host, "up");
            await ExternalProcess.CheckedAsync("ip", "-n", name, "addr", "add", $"{ns.AgentAddress}/30", "dev", inner);
            await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "set", inner, "up");
            await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "set", "lo", "up");
            var bridgePorts = new List<BridgeTables.BridgePort>();
            foreach (var (port, vlan) in ports)
            {
                await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "add", port, "type", "veth", "peer", "name", port + "p");
                await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "set", port, "up");
                await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "set", port + "p", "up");
                if (vlan is { } access)
                {
                    bridgePorts.Add(new BridgeTables.BridgePort(await ns.IfIndexAsync(port), access));
                }
            }

            string? proxy = null;
            if (bridgePorts.Count > 0)
            {
                ns._bridgeTables = await SnmpsimAgent.StartInNamespaceAsync(name, BridgeCommunity, BridgeTables.Snmprec(bridgePorts));
                proxy = $"-v 2c -c {BridgeCommunity} {ns._bridgeTables.Target} {BridgeSubtree}";
            }

            ns._agent = await SnmpdAgent.StartAsync(ns.AgentAddress, name, proxy: proxy);
            return ns;
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>The port's ifIndex, as the kernel numbers it and snmpd's IF-MIB reports it.</summary>
    public async Task<int> IfIndexAsync(string port)
    {
        var text = await ExternalProcess.CheckedAsync("ip", "netns", "exec", Name, "cat", $"/sys/class/net/{port}/ifindex");
        return int.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the kernel has the link administratively up (the UP flag in <c>ip link</c>).</summary>
    public async Task<bool> IsUpAsync(string port)
    {
        var line = await ExternalProcess.CheckedAsync("ip", "-n", Name, "-o", "link", "show", port);
        var flags = line[(line.IndexOf('<', StringComparison.Ordinal) + 1)..line.IndexOf('>', StringComparison.Ordinal)].Split(',');
        return flags.Contains("UP");
    }

    public async ValueTask DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        if (_bridgeTables is not null)
        {
            await _bridgeTables.DisposeAsync();
        }

        await ExternalProcess.RunAsync("ip", ["netns", "del", Name]);
        await ExternalProcess.RunAsync("ip", ["link", "del", _hostLink]);
    }
}
