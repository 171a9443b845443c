using SegmentController.Capture.Evidence;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TestPolicy;

namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// The labelled corpus: a realistic clean mix for the <see cref="TestPolicy"/> site, and one case
/// per capture rule that breaks exactly that rule.
/// </summary>
internal static class Corpus
{
    public static readonly DateTime Start = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    private const byte Syn = 0x02;
    private const byte Ack = 0x10;
    private const byte PshAck = 0x18;

    /// <summary>HTTPS through the proxy, DNS to infrastructure, ARP, IPv6 ND, infrastructure SNMP.</summary>
    public static List<byte[]> CleanMix()
    {
        var agent = Mac(AcmeAgentMac);
        var gateway = Mac(AcmeGatewayMac);
        var globex = Mac(GlobexAgentMac);
        var proxy = Mac(ProxyMac);
        var infra = Mac(InfraMac);
        return
        [
            // ARP for the gateway and its reply, on acme's VLAN.
            Ethernet(Broadcast, agent, [10], 0x0806, Arp(1, agent, "10.10.0.11", new byte[6], "10.10.0.1")),
            Ethernet(agent, gateway, [10], 0x0806, Arp(2, gateway, "10.10.0.1", agent, "10.10.0.11")),

            // IPv6 neighbour solicitation and router advertisement (link-local, multicast).
            Ethernet(Mac("33:33:ff:00:00:11"), agent, [10], 0x86DD, Ipv6("fe80::11", "ff02::1:ff00:11", 58, Icmp(135, 0, 20))),
            Ethernet(Mac("33:33:00:00:00:01"), gateway, [10], 0x86DD, Ipv6("fe80::1", "ff02::1", 58, Icmp(134, 0, 12))),

            // DNS from each client to the infrastructure resolver, and the replies.
            Ethernet(infra, agent, [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.53", 17, Udp(53001, 53, new byte[30]))),
            Ethernet(agent, gateway, [10], 0x0800, Ipv4("10.99.0.53", "10.10.0.11", 17, Udp(53, 53001, new byte[60]))),
            Ethernet(infra, globex, [20], 0x0800, Ipv4("10.20.0.21", "10.99.0.53", 17, Udp(53002, 53, new byte[30]))),
            Ethernet(infra, globex, [20], 0x86DD, Ipv6("2001:db8:20::21", "2001:db8:99::53", 17, Udp(53003, 53, new byte[30]))),

            // Agent → proxy over TLS 1.3, both ways (routed: replies come from the gateway's MAC).
            Ethernet(proxy, agent, [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.5", 6, Tcp(50000, 8443, Syn, []))),
            Ethernet(agent, gateway, [10], 0x0800, Ipv4("10.99.0.5", "10.10.0.11", 6, Tcp(8443, 50000, Syn | Ack, []))),
            Ethernet(proxy, agent, [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.5", 6, Tcp(50000, 8443, PshAck, ClientHello(0x0303, "crm.acme.example", [0x0304, 0x0303])))),
            Ethernet(agent, gateway, [10], 0x0800, Ipv4("10.99.0.5", "10.10.0.11", 6, Tcp(8443, 50000, PshAck, ServerHello(0x0303, 0x0304)))),
            Ethernet(proxy, globex, [20], 0x86DD, Ipv6("2001:db8:20::21", "2001:db8:99::5", 6, Tcp(50001, 8443, PshAck, ClientHello(0x0303, "erp.globex.example", [0x0304])))),

            // Proxy → upstreams over TLS (IPv4 and IPv6), on the management VLAN.
            Ethernet(infra, proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40000, 443, Syn, []))),
            Ethernet(infra, proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40000, 443, PshAck, ClientHello(0x0303, "crm.acme.example", [0x0304, 0x0303])))),
            Ethernet(proxy, infra, [99], 0x0800, Ipv4("192.0.2.10", "10.99.0.5", 6, Tcp(443, 40000, PshAck, ServerHello(0x0303, null)))),
            Ethernet(infra, proxy, [99], 0x86DD, Ipv6("2001:db8:99::5", "2001:db8:ffff::20", 6, Tcp(40001, 8443, PshAck, ClientHello(0x0303, "erp.globex.example", [0x0304])))),

            // Infrastructure: SNMP between management hosts, untagged and tagged.
            Ethernet(infra, infra, [99], 0x0800, Ipv4("10.99.0.2", "10.99.0.3", 17, Udp(40161, 161, new byte[40]))),
            Ethernet(infra, infra, [], 0x0800, Ipv4("10.99.0.3", "10.99.0.2", 17, Udp(161, 40161, new byte[80]))),

            // A priority-tagged frame (VID 0) counts as untagged.
            Ethernet(infra, infra, [0], 0x0800, Ipv4("10.99.0.2", "10.99.0.3", 1, Icmp(8, 0))),
        ];
    }

    /// <summary>One case per capture rule (except capture-degraded, which needs time): frames that break exactly it.</summary>
    public static IReadOnlyDictionary<string, List<byte[]>> Leaks()
    {
        var agent = Mac(AcmeAgentMac);
        var agent2 = Mac(AcmeAgent2Mac);
        var gateway = Mac(AcmeGatewayMac);
        var globex = Mac(GlobexAgentMac);
        var proxy = Mac(ProxyMac);
        var infra = Mac(InfraMac);
        return new Dictionary<string, List<byte[]>>(StringComparer.Ordinal)
        {
            [RuleIds.CrossClientFlow] =
            [
                Ethernet(globex, agent, [10], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 6, Tcp(50100, 445, Syn, []))),
                Ethernet(globex, agent, [10], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 6, Tcp(50100, 445, PshAck, new byte[100]))),
            ],
            [RuleIds.VlanSubnetMismatch] =
            [
                Ethernet(infra, globex, [20], 0x0800, Ipv4("10.10.0.12", "10.99.0.53", 17, Udp(53100, 53, new byte[30]))),
            ],
            [RuleIds.VlanHopping] =
            [
                Ethernet(globex, globex, [1, 20], 0x0800, Ipv4("10.20.0.21", "10.20.0.22", 17, Udp(5000, 5001, new byte[30])), tpids: [0x88A8, 0x8100]),
            ],
            [RuleIds.ProxyBypass] =
            [
                Ethernet(gateway, agent, [10], 0x0800, Ipv4("10.10.0.11", "192.0.2.10", 6, Tcp(50200, 443, PshAck, ClientHello(0x0303, "crm.acme.example", [0x0304])))),
            ],
            [RuleIds.CleartextToClient] =
            [
                // The connection's start is seen, so its first payload byte is known: it is no TLS record.
                Ethernet(infra, proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40100, 80, Syn, [], sequence: 7000))),
                Ethernet(infra, proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40100, 80, PshAck, "GET / HTTP/1.1\r\nHost: crm.acme.example\r\n\r\n"u8, sequence: 7001))),
            ],
            [RuleIds.WeakTls] =
            [
                Ethernet(proxy, infra, [99], 0x0800, Ipv4("192.0.2.10", "10.99.0.5", 6, Tcp(443, 40200, PshAck, ServerHello(0x0301, null)))),
            ],
            [RuleIds.UnknownVlan] =
            [
                Ethernet(infra, infra, [300], 0x0800, Ipv4("10.99.0.2", "10.99.0.3", 17, Udp(40161, 161, new byte[40]))),
            ],
            [RuleIds.UnknownMac] =
            [
                Ethernet(infra, Mac("02:00:00:00:66:66"), [10], 0x0800, Ipv4("10.10.0.13", "10.99.0.53", 17, Udp(53200, 53, new byte[30]))),
            ],
            [RuleIds.ArpSpoofing] =
            [
                Ethernet(agent, gateway, [10], 0x0806, Arp(2, gateway, "10.10.0.1", agent, "10.10.0.11")),
                Ethernet(Broadcast, agent2, [10], 0x0806, Arp(2, agent2, "10.10.0.1", Broadcast, "10.10.0.1")),
            ],
        };
    }

    /// <summary>Frames at one-millisecond steps from <see cref="Start"/>.</summary>
    public static List<EvidenceFrame> Timed(IEnumerable<byte[]> frames, DateTime? start = null)
    {
        var t = (start ?? Start).Ticks;
        return frames.Select((f, i) => new EvidenceFrame(t + (i * TimeSpan.TicksPerMillisecond), f.Length, f)).ToList();
    }

    public static string WritePcap(string path, IEnumerable<EvidenceFrame> frames)
    {
        PcapWriter.WriteFile(path, frames);
        return path;
    }
}
