using System.Net;
using System.Security.Cryptography;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// A network namespace standing in for one segment of agents, for a program that cannot choose its
/// source address (wrk): everything run in it (<see cref="Command"/>) connects from <see cref="AgentAddress"/>,
/// the namespace's end of a point-to-point veth (10.252.x.y/30) whose other end, <see cref="HostAddress"/>,
/// stays in the root namespace for the proxy to listen on. Everything is removed on dispose.
/// </summary>
internal sealed class AgentNamespace : IAsyncDisposable
{
    private readonly string _hostLink;

    private AgentNamespace(string name, string hostLink, IPAddress hostAddress, IPAddress agentAddress)
    {
        Name = name;
        _hostLink = hostLink;
        HostAddress = hostAddress;
        AgentAddress = agentAddress;
    }

    public string Name { get; }

    /// <summary>The root namespace's end of the link: where the proxy listens for these agents.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The address every connection from inside the namespace comes from.</summary>
    public IPAddress AgentAddress { get; }

    /// <summary>The agent's address alone, as a segment subnet of a client.</summary>
    public IPNetwork AgentNetwork => new(AgentAddress, 32);

    public static async Task<AgentNamespace> CreateAsync()
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var (host, agent) = await UnusedLinkAsync();
        var ns = new AgentNamespace($"segctl-agents-{tag}", $"sah{tag}", host, agent);
        var inner = $"sai{tag}";
        try
        {
            await ExternalProcess.CheckedAsync("ip", "netns", "add", ns.Name);
            await ExternalProcess.CheckedAsync("ip", "link", "add", ns._hostLink, "type", "veth", "peer", "name", inner, "netns", ns.Name);
            await ExternalProcess.CheckedAsync("ip", "addr", "add", $"{host}/30", "dev", ns._hostLink);
            await ExternalProcess.CheckedAsync("ip", "link", "set", ns._hostLink, "up");
            await ExternalProcess.CheckedAsync("ip", "-n", ns.Name, "addr", "add", $"{agent}/30", "dev", inner);
            await ExternalProcess.CheckedAsync("ip", "-n", ns.Name, "link", "set", inner, "up");
            await ExternalProcess.CheckedAsync("ip", "-n", ns.Name, "link", "set", "lo", "up");
            return ns;
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The command line that runs <paramref name="program"/> with <paramref name="arguments"/> inside the
    /// namespace (its process id is the program's: <c>ip netns exec</c> executes it in its own place).
    /// </summary>
    public IReadOnlyList<string> Command(string program, params IEnumerable<string> arguments) =>
        ["ip", "netns", "exec", Name, program, .. arguments];

    public async ValueTask DisposeAsync()
    {
        await ExternalProcess.RunAsync("ip", ["netns", "del", Name]);
        await ExternalProcess.RunAsync("ip", ["link", "del", _hostLink]);
    }

    /// <summary>A /30 in 10.252.0.0/16 no interface of the root namespace has an address in yet.</summary>
    private static async Task<(IPAddress Host, IPAddress Agent)> UnusedLinkAsync()
    {
        for (var tried = 0; tried < 100; tried++)
        {
            var octet = RandomNumberGenerator.GetInt32(0, 256);
            var subnet = RandomNumberGenerator.GetInt32(0, 64) * 4;
            var taken = await ExternalProcess.CheckedAsync("ip", "-o", "-4", "addr", "show", "to", $"10.252.{octet}.{subnet}/30");
            if (taken.Trim().Length == 0)
            {
                return (IPAddress.Parse($"10.252.{octet}.{subnet + 1}"), IPAddress.Parse($"10.252.{octet}.{subnet + 2}"));
            }
        }

        throw new InvalidOperationException("no free /30 in 10.252.0.0/16 for an agent namespace");
    }
}
