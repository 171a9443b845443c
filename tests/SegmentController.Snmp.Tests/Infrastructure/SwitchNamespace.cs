using System.Security.Cryptography;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// A network namespace standing in for a switch: veth "ports" whose ifAdminStatus a real snmpd inside
/// the namespace controls, reached from the test over a point-to-point veth. Everything is removed on dispose.
/// </summary>
internal sealed class SwitchNamespace : IAsyncDisposable
{
    private readonly string _hostLink;
    private SnmpdAgent? _agent;

    private SwitchNamespace(string name, string hostLink, string agentAddress)
    {
        Name = name;
        _hostLink = hostLink;
        AgentAddress = agentAddress;
    }

    public string Name { get; }

    public string AgentAddress { get; }

    public SnmpdAgent Agent => _agent ?? throw new InvalidOperationException("not started");

    public static async Task<SwitchNamespace> CreateAsync(params string[] ports)
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
            foreach (var port in ports)
            {
                await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "add", port, "type", "veth", "peer", "name", port + "p");
                await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "set", port, "up");
                await ExternalProcess.CheckedAsync("ip", "-n", name, "link", "set", port + "p", "up");
            }

            ns._agent = await SnmpdAgent.StartAsync(ns.AgentAddress, name);
            return ns;
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
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

        await ExternalProcess.RunAsync("ip", ["netns", "del", Name]);
        await ExternalProcess.RunAsync("ip", ["link", "del", _hostLink]);
    }
}
