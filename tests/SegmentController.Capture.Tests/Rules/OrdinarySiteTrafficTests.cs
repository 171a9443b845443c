using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TunnelFrames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// Traffic every real site carries, in the shapes the tunnel, embedded-IPv4 and ARP rules look at, raises
/// nothing: a critical finding suspends a client. And the paths those rules added allocate nothing per
/// frame once warm.
/// </summary>
public sealed class OrdinarySiteTrafficTests
{
    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);
    private static readonly byte[] InfraMac = Mac(TestPolicy.InfraMac);
    private static readonly byte[] VtepMac = Mac("02:00:00:00:99:21");

    private static byte[] Bridged(byte[] dst, byte[] src, ushort etherType, byte[] packet, int[]? vlans = null) =>
        Ethernet(dst, src, vlans ?? [], etherType, packet);

    /// <summary>The provider's VXLAN fabric: leaf to leaf on management VLAN 99, carrying a client's own frames.</summary>
    private static byte[] Fabric(byte[] innerFrame) =>
        Ethernet(InfraMac, VtepMac, [99], 0x0800, Ipv4("10.99.0.21", "10.99.0.22", 17, Udp(51234, 4789, Vxlan(10010, innerFrame))));

    public static List<byte[]> OrdinaryFrames() =>
    [
        // ARP: gratuitous announcements (request and reply forms), a probe, the gateway and an
        // infrastructure host resolving clients, a client resolving infrastructure.
        Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, "10.10.0.11", new byte[6], "10.10.0.11")),
        Ethernet(Broadcast, GlobexMac, [20], 0x0806, Arp(2, GlobexMac, "10.20.0.21", Broadcast, "10.20.0.21")),
        Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, "0.0.0.0", new byte[6], "10.10.0.12")),
        Ethernet(Broadcast, GatewayMac, [10], 0x0806, Arp(1, GatewayMac, "10.10.0.1", new byte[6], "10.10.0.11")),
        Ethernet(Broadcast, InfraMac, [99], 0x0806, Arp(1, InfraMac, "10.99.0.53", new byte[6], "10.99.0.1")),
        Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, "10.10.0.11", new byte[6], "10.99.0.53")),

        // DHCP discover (0.0.0.0 → broadcast) and the relay's unicast to the infrastructure server.
        Ethernet(Broadcast, AgentMac, [10], 0x0800, Ipv4("0.0.0.0", "255.255.255.255", 17, Udp(68, 67, new byte[240]))),
        Ethernet(InfraMac, GatewayMac, [10], 0x0800, Ipv4("10.10.0.1", "10.99.0.67", 17, Udp(67, 67, new byte[240]))),

        // IPv6: duplicate address detection from ::, router solicitation and advertisement, DHCPv6, MLD,
        // mDNS; link-local with the ISATAP-like interface id of an IANA MAC (00:00:5e, VRRP).
        Ethernet(Mac("33:33:ff:00:00:11"), AgentMac, [10], 0x86DD, Ipv6("::", "ff02::1:ff00:11", 58, Icmp(135, 0, 20))),
        Ethernet(Mac("33:33:00:00:00:02"), AgentMac, [10], 0x86DD, Ipv6("fe80::11", "ff02::2", 58, Icmp(133, 0, 4))),
        Ethernet(Mac("33:33:00:00:00:01"), GatewayMac, [10], 0x86DD, Ipv6("fe80::200:5eff:fe00:10a", "ff02::1", 58, Icmp(134, 0, 12))),
        Ethernet(Mac("33:33:00:01:00:02"), AgentMac, [10], 0x86DD, Ipv6("fe80::11", "ff02::1:2", 17, Udp(546, 547, new byte[40]))),
        Ethernet(Mac("33:33:00:00:00:16"), AgentMac, [10], 0x86DD, Ipv6("::", "ff02::16", 58, Icmp(143, 0, 24), [(0, new byte[6])])),
        Ethernet(Mac("33:33:00:00:00:fb"), GlobexMac, [20], 0x86DD, Ipv6("fe80::21", "ff02::fb", 17, Udp(5353, 5353, new byte[40]))),
        Ethernet(Mac("01:00:5e:00:00:fb"), GlobexMac, [20], 0x0800, Ipv4("10.20.0.21", "224.0.0.251", 17, Udp(5353, 5353, new byte[40]))),

        // The site's NAT64 and 6to4 relay are infrastructure: IPv6-only hosts reach the Internet through them.
        Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6("2001:db8:10::11", "64:ff9b::808:808", 17, Udp(50000, 53, new byte[30]))),
        Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6("2001:db8:10::11", "2002:a63:32::1", 6, Tcp(50001, 443, 0x02, []))),

        // The fabric carries each client's own traffic, ARP and DHCP included, between leaves.
        Fabric(Bridged(GatewayMac, AgentMac, 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 6, Tcp(50100, 445, 0x02, [])), [10])),
        Fabric(Bridged(Broadcast, GlobexMac, 0x0800, Ipv4("0.0.0.0", "255.255.255.255", 17, Udp(68, 67, new byte[240])))),
        Fabric(Bridged(Broadcast, GlobexMac, 0x0806, Arp(1, GlobexMac, "10.20.0.21", new byte[6], "10.20.0.22"))),
        Fabric(Bridged(Mac("33:33:00:00:00:01"), GlobexMac, 0x86DD, Ipv6("fe80::21", "ff02::1", 58, Icmp(136, 0, 20)))),

        // The provider's MPLS core (labelled between its routers) and its VXLAN-GPE fabric carrying acme's own packets.
        Ethernet(InfraMac, VtepMac, [99], 0x8847, Mpls([16, 17], Ipv4("10.99.0.1", "10.99.0.2", 17, Udp(646, 646, new byte[30])))),
        Ethernet(InfraMac, VtepMac, [99], 0x0800, Ipv4("10.99.0.21", "10.99.0.22", 17, Udp(51234, 4790, VxlanGpe(10010, 1, Ipv4("10.10.0.11", "10.10.0.12", 6, Tcp(50100, 445, 0x02, [])))))),

        // A switch mirroring acme's port to the collector by ERSPAN.
        Ethernet(InfraMac, VtepMac, [99], 0x0800, Ipv4("10.99.0.2", "10.99.0.60", 47, ErspanII(3, 0, Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.53", 17, Udp(50000, 53, new byte[30])))))),

        // acme's own tunnels: GRE between two acme hosts, and IPv6 in IPv4 to its office off-site.
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 47, Gre(EtherTypeIpv4, Ipv4("172.16.0.1", "172.16.0.2", 1, Icmp(8, 0))))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "198.51.100.7", 41, Ipv6("2001:db8:10::11", "2001:db8:20::99", 6, Tcp(50200, 22, 0x02, [])))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 17, Udp(49152, 6635, Mpls([16], Ipv4("172.16.0.1", "172.16.0.2", 1, Icmp(8, 0)))))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "198.51.100.7", 17, Udp(49152, 4754, Gre(EtherTypeIpv4, Ipv4("10.10.0.11", "10.20.0.99", 6, Tcp(50300, 443, 0x02, [])))))),

        // acme's own VPNs: PPTP between two acme hosts (pool addresses inside, LCP echoes, MPPE-encrypted data, an
        // acknowledgement alone), L2TP to its office off-site whose range overlaps globex's, with its control
        // messages, and an L2TPv3 Ethernet pseudowire between two acme hosts.
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 47, Pptp(Ppp(PppIpv4, Ipv4("172.16.0.1", "172.16.0.2", 1, Icmp(8, 0)))))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 47, Pptp(Ppp(PppLcp, [9, 1, 0, 8, 0, 0, 0, 0]), acknowledged: true))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 47, Pptp(Ppp(PppCompressedDatagram, [0x90, 0x02, .. new byte[60]], addressControl: false, compressProtocol: true)))),
        Ethernet(AgentMac, GatewayMac, [10], 0x0800, Ipv4("10.10.0.12", "10.10.0.11", 47, Pptp([], sequenced: false, acknowledged: true))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "198.51.100.7", 17, Udp(1701, 1701, L2tp([0x80, 8, 0, 0, 0, 0, 0, 1], withLength: true, sequenced: true, control: true)))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "198.51.100.7", 17, Udp(1701, 1701, L2tp(Ppp(PppIpv4, Ipv4("10.10.0.11", "10.20.0.99", 6, Tcp(50400, 443, 0x02, []))), sequenced: true)))),
        Ethernet(AgentMac, GatewayMac, [10], 0x0800, Ipv4("198.51.100.7", "10.10.0.11", 17, Udp(1701, 1701, L2tp(Ppp(PppLcp, [10, 1, 0, 8, 0, 0, 0, 0]))))),
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.10.0.12", 115, L2tpv3Ip(0x2001, Bridged(Mac("02:00:00:aa:00:02"), Mac("02:00:00:aa:00:01"), 0x0800, Ipv4("172.16.0.1", "172.16.0.2", 1, Icmp(8, 0)))))),
    ];

    [Fact]
    public void OrdinaryArpDhcpNeighbourDiscoveryMulticastFabricAndOwnTunnels_NoFinding()
    {
        var report = Analysis.Of(OrdinaryFrames());

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void WarmArpBetweenClientsEmbeddedIpv6AndTunnelTraffic_DecodeClassifyAndJudgeAllocateNothingPerFrame()
    {
        // Ordinary frames, plus a finding of each kind the new rules raise: ARP between clients, a NAT64 form
        // of globex's address, a tunnel through an end of the site and one to an off-site end.
        var endpoint = "10.99.0.50";
        var frames = OrdinaryFrames().Concat(
        [
            Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, "10.10.0.11", new byte[6], "10.20.0.21")),
            Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6("2001:db8:10::11", "64:ff9b::a14:15", 17, Udp(5000, 6000, new byte[16]))),
            Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6("2001:db8:10::11", "2002:a0a:b:1:0:5efe:a14:15", 17, Udp(5000, 6001, new byte[16]))),
            Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", endpoint, 47, Gre(EtherTypeIpv4, Ipv4("10.10.0.11", "10.20.0.21", 6, Tcp(50100, 445, 0x02, []))))),
            Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "198.51.100.7", 47, Gre(EtherTypeIpv4, Ipv4("10.10.0.11", "10.20.0.21", 6, Tcp(50100, 445, 0x02, []))))),
        ]).ToArray();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "alloc");
        var ticks = Corpus.Start.Ticks;
        Analysis.Feed(analyzer, frames, ref ticks, passes: 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch).Count;
        var least = Analysis.LeastAllocated(analyzer, frames, ref ticks, attempts: 5);

        Assert.Equal(0, least);
        Assert.Equal(4, findings);
        Assert.Equal(findings, analyzer.AllFindings(DateTimeOffset.UnixEpoch).Count);
    }
}
