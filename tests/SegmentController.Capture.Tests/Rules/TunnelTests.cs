using SegmentController.Capture.Decoding;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TunnelFrames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A host in acme's segment wraps packets to globex in a tunnel whose other end is infrastructure: the outer
/// packet goes from acme to infrastructure, the inner one, once decapsulated, from acme to globex. The inner
/// packet is judged as a flow of its own.
/// </summary>
public sealed class TunnelTests
{
    private const string Acme = "10.10.0.11";
    private const string Acme2 = "10.10.0.12";
    private const string Globex = "10.20.0.21";
    private const string Endpoint = "10.99.0.50";
    private const string Acme6 = "2001:db8:10::11";
    private const string Globex6 = "2001:db8:20::21";
    private const string Endpoint6 = "2001:db8:99::50";

    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);
    private static readonly byte[] InnerSourceMac = Mac("02:00:00:aa:00:01");
    private static readonly byte[] InnerDestinationMac = Mac("02:00:00:aa:00:02");

    private static byte[] Syn4(string source, string destination, ushort port = 445) => Ipv4(source, destination, 6, Tcp(50100, port, 0x02, []));

    private static byte[] Syn6(string source, string destination) => Ipv6(source, destination, 6, Tcp(50100, 445, 0x02, []));

    private static byte[] Bridged(ushort etherType, byte[] packet, int[]? vlans = null) =>
        Ethernet(InnerDestinationMac, InnerSourceMac, vlans ?? [], etherType, packet);

    /// <summary>An IPv4 packet from <paramref name="source"/> on acme's VLAN.</summary>
    private static byte[] Outer4(byte protocol, byte[] payload, string source = Acme, string destination = Endpoint, ushort flagsFragment = 0x4000) =>
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4(source, destination, protocol, payload, flagsFragment: flagsFragment));

    private static byte[] Outer6(byte protocol, byte[] payload) =>
        Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6(Acme6, Endpoint6, protocol, payload));

    private static byte[] Udp4(ushort port, byte[] payload, string source = Acme, string destination = Endpoint) =>
        Outer4(17, Udp(49152, port, payload), source, destination);

    /// <summary>Name → (frame, tunnel evidence, inner source, inner destination, outer source, outer destination).</summary>
    private static readonly Dictionary<string, (Func<byte[]> Frame, string Tunnel, string Src, string Dst, string OuterSrc, string OuterDst)> CrossClient =
        new(StringComparer.Ordinal)
        {
            ["ipv4-in-ipv4"] = (() => Outer4(4, Syn4(Acme, Globex)), "ip-in-ip", Acme, Globex, Acme, Endpoint),
            ["ipv6-in-ipv4"] = (() => Outer4(41, Syn6(Acme6, Globex6)), "ipv6-in-ip", Acme6, Globex6, Acme, Endpoint),
            ["ipv4-in-ipv6"] = (() => Outer6(4, Syn4(Acme, Globex)), "ip-in-ip", Acme, Globex, Acme6, Endpoint6),
            ["ipv6-in-ipv6"] = (() => Outer6(41, Syn6(Acme6, Globex6)), "ipv6-in-ip", Acme6, Globex6, Acme6, Endpoint6),
            ["gre-ipv4"] = (() => Outer4(47, Gre(EtherTypeIpv4, Syn4(Acme, Globex))), "gre", Acme, Globex, Acme, Endpoint),
            ["gre-ipv6-checksum-key-sequence"] = (() => Outer4(47, Gre(EtherTypeIpv6, Syn6(Acme6, Globex6), flags: 0xB000)), "gre", Acme6, Globex6, Acme, Endpoint),
            ["gre-ethernet"] = (() => Outer4(47, Gre(EtherTypeBridging, Bridged(0x0800, Syn4(Acme, Globex)))), "gre", Acme, Globex, Acme, Endpoint),
            ["gre-ethernet-vlan-tagged"] = (() => Outer4(47, Gre(EtherTypeBridging, Bridged(0x0800, Syn4(Acme, Globex), [10]), flags: 0x2000)), "gre", Acme, Globex, Acme, Endpoint),
            ["gre-over-ipv6"] = (() => Outer6(47, Gre(EtherTypeIpv4, Syn4(Acme, Globex))), "gre", Acme, Globex, Acme6, Endpoint6),
            ["vxlan-ipv4"] = (() => Udp4(4789, Vxlan(5010, Bridged(0x0800, Syn4(Acme, Globex)))), "vxlan", Acme, Globex, Acme, Endpoint),
            ["vxlan-linux-default-port"] = (() => Udp4(8472, Vxlan(5010, Bridged(0x0800, Syn4(Acme, Globex)))), "vxlan", Acme, Globex, Acme, Endpoint),
            ["vxlan-ipv6-vlan-tagged"] = (() => Udp4(4789, Vxlan(5010, Bridged(0x86DD, Syn6(Acme6, Globex6), [10]))), "vxlan", Acme6, Globex6, Acme, Endpoint),
            ["geneve-ethernet-with-options"] = (() => Udp4(6081, Geneve(5010, EtherTypeBridging, Bridged(0x0800, Syn4(Acme, Globex)), optionWords: 3)), "geneve", Acme, Globex, Acme, Endpoint),
            ["geneve-ipv6"] = (() => Udp4(6081, Geneve(5010, EtherTypeIpv6, Syn6(Acme6, Globex6))), "geneve", Acme6, Globex6, Acme, Endpoint),
            ["vxlan-gpe-ipv4"] = (() => Udp4(4790, VxlanGpe(5010, 1, Syn4(Acme, Globex))), "vxlan-gpe", Acme, Globex, Acme, Endpoint),
            ["vxlan-gpe-ipv6"] = (() => Udp4(4790, VxlanGpe(5010, 2, Syn6(Acme6, Globex6))), "vxlan-gpe", Acme6, Globex6, Acme, Endpoint),
            ["vxlan-gpe-ethernet"] = (() => Udp4(4790, VxlanGpe(5010, 3, Bridged(0x0800, Syn4(Acme, Globex), [10]))), "vxlan-gpe", Acme, Globex, Acme, Endpoint),
            ["gre-in-udp-ipv4"] = (() => Udp4(4754, Gre(EtherTypeIpv4, Syn4(Acme, Globex))), "gre-in-udp", Acme, Globex, Acme, Endpoint),
            ["gre-in-udp-ethernet-with-key"] = (() => Udp4(4754, Gre(EtherTypeBridging, Bridged(0x0800, Syn4(Acme, Globex)), flags: 0x2000)), "gre-in-udp", Acme, Globex, Acme, Endpoint),
            ["gre-in-udp-mpls-ipv6"] = (() => Udp4(4754, Gre(EtherTypeMpls, Mpls([300], Syn6(Acme6, Globex6)))), "gre-in-udp", Acme6, Globex6, Acme, Endpoint),
            ["gre-mpls-ipv4"] = (() => Outer4(47, Gre(EtherTypeMpls, Mpls([100, 200], Syn4(Acme, Globex)))), "gre", Acme, Globex, Acme, Endpoint),
            ["gre-mpls-multicast-ipv4"] = (() => Outer4(47, Gre(0x8848, Mpls([100], Syn4(Acme, Globex)))), "gre", Acme, Globex, Acme, Endpoint),
            ["gre-mpls-pseudowire-ethernet"] = (() => Outer4(47, Gre(EtherTypeMpls, Mpls([100, 200], [0, 0, 0, 1, .. Bridged(0x0800, Syn4(Acme, Globex))]))), "gre", Acme, Globex, Acme, Endpoint),
            ["mpls-in-udp-ipv4"] = (() => Udp4(6635, Mpls([16], Syn4(Acme, Globex))), "mpls-in-udp", Acme, Globex, Acme, Endpoint),
            ["mpls-in-udp-ipv6-three-labels"] = (() => Udp4(6635, Mpls([16, 17, 18], Syn6(Acme6, Globex6))), "mpls-in-udp", Acme6, Globex6, Acme, Endpoint),
            ["pptp-ipv4"] = (() => Outer4(47, Pptp(Ppp(PppIpv4, Syn4(Acme, Globex)))), "pptp", Acme, Globex, Acme, Endpoint),
            ["pptp-ipv4-with-ack-compressed-fields"] = (() => Outer4(47, Pptp(Ppp(PppIpv4, Syn4(Acme, Globex), addressControl: false, compressProtocol: true), acknowledged: true)), "pptp", Acme, Globex, Acme, Endpoint),
            ["pptp-ipv6-over-ipv6"] = (() => Outer6(47, Pptp(Ppp(PppIpv6, Syn6(Acme6, Globex6)))), "pptp", Acme6, Globex6, Acme6, Endpoint6),
            ["l2tp-ipv4"] = (() => Udp4(1701, L2tp(Ppp(PppIpv4, Syn4(Acme, Globex)))), "l2tp", Acme, Globex, Acme, Endpoint),
            ["l2tp-ipv4-length-sequence-offset-compressed"] = (() => Udp4(1701, L2tp(Ppp(PppIpv4, Syn4(Acme, Globex), addressControl: false, compressProtocol: true), withLength: true, sequenced: true, offsetPad: 2)), "l2tp", Acme, Globex, Acme, Endpoint),
            ["l2tp-ipv6-from-port-1701"] = (() => Outer4(17, Udp(1701, 50000, L2tp(Ppp(PppIpv6, Syn6(Acme6, Globex6))))), "l2tp", Acme6, Globex6, Acme, Endpoint),
            ["l2tpv3-udp-ethernet"] = (() => Udp4(1701, L2tpv3Udp(0x2001, Bridged(0x0800, Syn4(Acme, Globex)))), "l2tpv3", Acme, Globex, Acme, Endpoint),
            ["l2tpv3-ip-ethernet"] = (() => Outer4(115, L2tpv3Ip(0x2001, Bridged(0x0800, Syn4(Acme, Globex)))), "l2tpv3", Acme, Globex, Acme, Endpoint),
            ["l2tpv3-ip-default-sublayer-ethernet"] = (() => Outer4(115, L2tpv3Ip(0x2001, [0x40, 0x00, 0x00, 0x01, .. Bridged(0x0800, Syn4(Acme, Globex))])), "l2tpv3", Acme, Globex, Acme, Endpoint),
            ["l2tpv3-ip-ethernet-tagged-ipv6-over-ipv6"] = (() => Outer6(115, L2tpv3Ip(0x2001, Bridged(0x86DD, Syn6(Acme6, Globex6), [10]))), "l2tpv3", Acme6, Globex6, Acme6, Endpoint6),
        };

    public static TheoryData<string> CrossClientCases() => new(CrossClient.Keys);

    [Theory]
    [MemberData(nameof(CrossClientCases))]
    public void AcmeHostTunnelsToInfrastructurePacketForGlobex_CrossClientFlowOfTheInnerPacket(string name)
    {
        var (frame, tunnel, src, dst, outerSrc, outerDst) = CrossClient[name];

        var report = Analysis.Of([frame()]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(FindingSource.Capture, finding.Source);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(src, finding.Evidence["src"]);
        Assert.Equal(dst, finding.Evidence["dst"]);
        Assert.Equal("tcp", finding.Evidence["protocol"]);
        Assert.Equal(50100, finding.Evidence["src_port"]);
        Assert.Equal(445, finding.Evidence["dst_port"]);
        Assert.Equal(new[] { 10 }, finding.Evidence["vlans"]);
        Assert.Equal(tunnel, finding.Evidence["tunnel"]);
        Assert.Equal(outerSrc, finding.Evidence["tunnel_src"]);
        Assert.Equal(outerDst, finding.Evidence["tunnel_dst"]);
        Assert.Contains($"tunnelled in {tunnel} {outerSrc} → {outerDst}", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void ManyPacketsOfOneTunnelledFlow_OneFindingWithCountsAndEvidenceFrames()
    {
        var frame = CrossClient["vxlan-ipv4"].Frame();

        var report = Analysis.Of(Enumerable.Repeat(frame, 20));

        var finding = Assert.Single(report.Findings);
        Assert.Equal(20L, finding.Evidence["packets"]);
        Assert.Equal(frame, Assert.Single(report.Violations).Frames[0].Data);
    }

    [Fact]
    public void TunnelsWithinTunnels_JudgedDownToTheThirdAndNamedOuterFirst()
    {
        // acme → infrastructure in GRE, holding acme → infrastructure in VXLAN, holding acme → infrastructure
        // in IP-in-IP, holding acme → globex.
        var ipip = Ipv4(Acme2, Endpoint, 4, Syn4(Acme, Globex));
        var vxlan = Ipv4(Acme2, Endpoint, 17, Udp(49152, 4789, Vxlan(1, Bridged(0x0800, ipip))));
        var frame = Outer4(47, Gre(EtherTypeIpv4, vxlan));

        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Globex, finding.Evidence["dst"]);
        Assert.Equal("gre/vxlan/ip-in-ip", finding.Evidence["tunnel"]);
        Assert.Equal(Acme, finding.Evidence["tunnel_src"]);
        Assert.Equal(Endpoint, finding.Evidence["tunnel_dst"]);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(FrameDecoder.MaxWalkedTunnels)]
    public void PacketDeeperThanThreeTunnels_InnermostJudgedNamedByTheOuterThree(int tunnels)
    {
        // An endpoint that decapsulates a packet addressed to itself decapsulates again: nesting deeper than the
        // tunnels judged one by one must not hide the innermost packet.
        var packet = Syn4(Acme, Globex);
        for (var level = 1; level < tunnels; level++)
        {
            packet = Ipv4(Acme2, Endpoint, 4, packet);
        }

        var report = Analysis.Of([Outer4(4, packet)]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(Globex, finding.Evidence["dst"]);
        Assert.Equal("ip-in-ip/ip-in-ip/ip-in-ip", finding.Evidence["tunnel"]);
        Assert.Equal(Endpoint, finding.Evidence["tunnel_dst"]);
    }

    [Fact]
    public void TunnelChainLongerThanTheWalkingBound_DecodeErrorDeepestReachedJudged()
    {
        var packet = Syn4(Acme, Globex);
        for (var level = 0; level < FrameDecoder.MaxWalkedTunnels; level++)
        {
            packet = Ipv4(Acme2, Endpoint, 4, packet);
        }

        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "deep");
        var frame = Outer4(4, packet);
        analyzer.ProcessFrame(frame, frame.Length, Corpus.Start.Ticks);

        Assert.Equal(1, analyzer.DecodeErrors);
        Assert.Equal(1, analyzer.DecodeErrorsByKind[(int)DecodeError.TunnelChainTooDeep]);
        Assert.Empty(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void TunnelledAndBareCopiesOfOneFlow_TwoFindingsOnlyTheTunnelledNamesTheTunnel()
    {
        var bare = Outer4(6, Tcp(50100, 445, 0x02, []), Acme, Globex);

        var findings = Analysis.Of([bare, CrossClient["gre-ipv4"].Frame()]).Findings;

        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.Equal(RuleIds.CrossClientFlow, f.Rule));
        Assert.Single(findings, f => f.Evidence.ContainsKey("tunnel"));
    }

    [Fact]
    public void AcmeHostTunnelsToItsOwnUpstream_ProxyBypassOfAcme()
    {
        var frame = Outer4(47, Gre(EtherTypeIpv4, Syn4(Acme, "192.0.2.10", 443)));

        var finding = Assert.Single(Analysis.Of([frame]).Findings);

        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(Severity.High, finding.Severity);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("gre", finding.Evidence["tunnel"]);
    }

    [Fact]
    public void ForgedInnerSourceOnAcmeVlanToGlobex_CrossClientFlowByTheCarriersVlan()
    {
        var frame = Udp4(4789, Vxlan(7, Bridged(0x0800, Ipv4("172.16.0.5", Globex, 17, Udp(5000, 6000, new byte[16])))));

        var finding = Assert.Single(Analysis.Of([frame]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("172.16.0.5", finding.Evidence["src"]);
    }

    [Fact]
    public void GlobexSourceTunnelledOnAcmeVlan_VlanSubnetMismatchOfTheInnerPacket()
    {
        var frame = Outer4(47, Gre(EtherTypeIpv4, Ipv4(Globex, "10.99.0.53", 17, Udp(53001, 53, new byte[30]))));

        var finding = Assert.Single(Analysis.Of([frame]).Findings);

        Assert.Equal(RuleIds.VlanSubnetMismatch, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(Globex, finding.Evidence["src"]);
        Assert.Equal("gre", finding.Evidence["tunnel"]);
    }

    [Fact]
    public void TunnelOnStackedUnknownVlans_TagFindingsOnceForTheCarrierInnerJudgedByAddresses()
    {
        var frame = Ethernet(GatewayMac, Mac("02:00:00:00:66:66"), [300, 301], 0x0800, Ipv4(Acme, Endpoint, 4, Syn4(Acme, Acme2)));

        var findings = Analysis.Of([frame]).Findings;

        Assert.Equal([RuleIds.UnknownVlan, RuleIds.VlanHopping], findings.Select(f => f.Rule).Order(StringComparer.Ordinal));
        Assert.All(findings, f => Assert.False(f.Evidence.ContainsKey("tunnel")));
    }

    [Fact]
    public void TunnelsWithinOneClientOrBetweenClientAndInfrastructure_NoFinding()
    {
        var frames = Corpus.CleanMix();
        frames.AddRange(
        [
            // acme host to acme host, each tunnel: inner within acme.
            Outer4(4, Syn4(Acme, Acme2), Acme, Acme2),
            Outer4(47, Gre(EtherTypeBridging, Bridged(0x0800, Syn4(Acme, Acme2), [10]), flags: 0x2000), Acme, Acme2),
            Udp4(4789, Vxlan(10, Bridged(0x0800, Syn4(Acme, Acme2))), Acme, Acme2),
            Outer6(41, Syn6(Acme6, "2001:db8:10::12")),

            // acme to infrastructure through an infrastructure endpoint: DNS and the proxy.
            Outer4(47, Gre(EtherTypeIpv4, Ipv4(Acme, "10.99.0.53", 17, Udp(53001, 53, new byte[30])))),
            Udp4(6081, Geneve(10, EtherTypeBridging, Bridged(0x0800, Ipv4(Acme, "10.99.0.5", 6, Tcp(50000, 8443, 0x02, []))), optionWords: 2)),
            Outer6(4, Ipv4("10.99.0.53", Acme, 17, Udp(53, 53001, new byte[60]))),

            // Infrastructure tunnels on the management VLAN carrying infrastructure traffic.
            Ethernet(Mac(TestPolicy.InfraMac), Mac(TestPolicy.InfraMac), [99], 0x0800, Ipv4("10.99.0.2", Endpoint, 17, Udp(49152, 4789, Vxlan(99, Bridged(0x0800, Ipv4("10.99.0.2", "10.99.0.3", 17, Udp(40161, 161, new byte[40]))))))),

            // acme host to acme host in PPTP and L2TP (a remote-access VPN within acme), and their control traffic.
            Outer4(47, Pptp(Ppp(PppIpv4, Syn4(Acme, Acme2)), acknowledged: true), Acme, Acme2),
            Outer4(47, Pptp([], sequenced: false, acknowledged: true), Acme2, Acme),
            Outer4(47, Pptp(Ppp(PppLcp, [9, 1, 0, 8, 0, 0, 0, 0])), Acme, Acme2),
            Udp4(1701, L2tp(Ppp(PppIpv4, Syn4(Acme, Acme2)), sequenced: true), Acme, Acme2),
            Udp4(1701, L2tp([0x80, 8, 0, 0, 0, 0, 0, 1], withLength: true, sequenced: true, control: true)),
            Outer4(115, L2tpv3Ip(0x2001, Bridged(0x0800, Syn4(Acme, Acme2))), Acme, Acme2),

            // A first fragment of a tunnelled packet within acme, and ARP inside VXLAN.
            Outer4(4, Ipv4(Acme, Acme2, 17, Udp(5000, 6000, new byte[64])).AsSpan(0, 40).ToArray(), Acme, Acme2, flagsFragment: 0x2000),
            Udp4(4789, Vxlan(10, Bridged(0x0806, Arp(1, InnerSourceMac, "10.20.0.21", new byte[6], "10.10.0.1")))),
        ]);

        var report = Analysis.Of(frames);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void FirstFragmentOfTunnelledCrossClientPacket_CrossClientFlowNoDecodeError()
    {
        var inner = Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[64]));
        var frame = Outer4(4, inner.AsSpan(0, 40).ToArray(), flagsFragment: 0x2000);

        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(6000, finding.Evidence["dst_port"]);
    }

    [Fact]
    public void FirstFragmentOfVxlanAndGeneveCarriers_InnerPacketJudgedNoDecodeError()
    {
        // The UDP header of a first fragment declares the whole datagram, longer than the fragment: an
        // overlay carrier fragmented on the way (or on purpose) still holds the inner packet's headers.
        var vxlan = Udp(49152, 4789, Vxlan(5010, Bridged(0x0800, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[1200])))));
        var geneve = Udp(49152, 6081, Geneve(5010, EtherTypeIpv6, Ipv6(Acme6, Globex6, 17, Udp(5000, 6001, new byte[1200]))));
        var frames = new[]
        {
            Outer4(17, vxlan.AsSpan(0, 200).ToArray(), flagsFragment: 0x2000),
            Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6(Acme6, Endpoint6, 17, geneve.AsSpan(0, 200).ToArray(), [(44, [0, 1, 0, 0, 0, 7])])),
        };

        var report = Analysis.Of(frames);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Equal(2, report.Findings.Count);
        Assert.All(report.Findings, f => Assert.Equal(RuleIds.CrossClientFlow, f.Rule));
        Assert.Contains(report.Findings, f => f.Evidence["tunnel"] is "vxlan" && f.Evidence["dst_port"] is 6000 && f.Evidence["dst"] is Globex);
        Assert.Contains(report.Findings, f => f.Evidence["tunnel"] is "geneve" && f.Evidence["dst_port"] is 6001 && f.Evidence["dst"] is Globex6);
    }

    [Fact]
    public void FirstFragmentOfPptpCarrier_PayloadLengthPastTheFragmentIsNoLieInnerPacketJudged()
    {
        var pptp = Pptp(Ppp(PppIpv4, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[1200]))));
        var frame = Outer4(47, pptp.AsSpan(0, 200).ToArray(), flagsFragment: 0x2000);

        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("pptp", finding.Evidence["tunnel"]);
        Assert.Equal(6000, finding.Evidence["dst_port"]);
    }

    [Fact]
    public void ClientsOwnTunnelToAnOffSiteNetworkWhoseRangeOverlapsAnotherClient_NoFinding()
    {
        // acme's host keeps GRE and VXLAN tunnels to acme's office (198.51.100.7, no subnet of the policy), whose
        // private range happens to be globex's 10.20.0.0/16 at this site: the far end routes the inner packets
        // there, and they reach no host of the site.
        const string OffSite = "198.51.100.7";
        const string Office = "10.20.1.5";
        var frames = new[]
        {
            Outer4(47, Gre(EtherTypeIpv4, Syn4(Acme, Office)), Acme, OffSite),
            Udp4(4789, Vxlan(77, Bridged(0x0800, Syn4(Acme, Office))), Acme, OffSite),
            Ethernet(AgentMac, GatewayMac, [10], 0x0800, Ipv4(OffSite, Acme, 47, Gre(EtherTypeIpv4, Ipv4(Office, Acme, 6, Tcp(445, 50100, 0x12, []))))),
        };

        var report = Analysis.Of(frames);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void OverlayBetweenTwoHostsOfOneClientWhosePlanOverlapsAnotherClient_NoFinding()
    {
        // acme's container hosts run an overlay between them (VXLAN as Docker swarm does, IP-in-IP as Calico
        // does) whose addresses fall in globex's 10.20.0.0/16: they are acme's overlay's, routed by acme's hosts.
        var vxlanTagged = Udp4(4789, Vxlan(4097, Bridged(0x0800, Syn4("10.20.0.3", "10.20.0.4"))), Acme, Acme2);
        var vxlanUntagged = Ethernet(GatewayMac, AgentMac, [], 0x0800, Ipv4(Acme, Acme2, 17, Udp(49152, 4789, Vxlan(4097, Bridged(0x0800, Syn4("10.20.0.4", "10.20.0.3"))))));
        var ipip = Outer4(4, Syn4("10.20.7.1", "10.20.9.1"), Acme2, Acme);

        var report = Analysis.Of([vxlanTagged, vxlanUntagged, ipip]);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void TunnelFromOffSiteRelayedToAnAcmeHostCarryingPacketForGlobex_CrossClientFlow()
    {
        // The office sends to the site's endpoint, which relays to acme's host 10.10.0.12 from an office address
        // that merely looks like acme's; acme's host then delivers the innermost packet to globex. The relayed
        // tunnel's source is the office's, so it is no tunnel between two acme hosts.
        var innermost = Syn4("10.20.0.21", "10.20.0.22");
        var relayed = Ipv4("10.10.0.99", Acme2, 4, innermost);
        var frame = Outer4(4, relayed, "198.51.100.7", Endpoint);

        var finding = Assert.Single(Analysis.Of([frame]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("10.20.0.22", finding.Evidence["dst"]);
    }

    [Fact]
    public void TunnelFromAClientHostToInfrastructureUntagged_InnerSourceStillThatClients()
    {
        // Untagged (an access port's mirror): no VLAN names the sender, the inner source does.
        var frame = Ethernet(GatewayMac, AgentMac, [], 0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeIpv4, Syn4(Acme, Globex))));

        var finding = Assert.Single(Analysis.Of([frame]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void SameInnerPacketOffSiteThenThroughAnOnSiteEnd_TheOnSiteOneIsCrossClient()
    {
        // Seen first through a tunnel to an off-site end, the inner packet must not have classified the flow
        // it takes through an end of the site.
        var inner = Syn4(Acme, Globex);
        var frames = new[]
        {
            Outer4(47, Gre(EtherTypeIpv4, inner), Acme, "198.51.100.7"),
            Outer4(47, Gre(EtherTypeIpv4, inner), Acme, Endpoint),
        };

        var report = Analysis.Of(frames);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(Endpoint, finding.Evidence["tunnel_dst"]);
    }

    public static TheoryData<string> NotTunnels() => new(NotTunnelFrames.Keys);

    private static readonly Dictionary<string, Func<byte[]>> NotTunnelFrames = new(StringComparer.Ordinal)
    {
        // Traffic that merely uses the tunnel ports, or GRE the decoder does not open, carrying bytes that
        // would be acme → globex if they were decoded as a packet.
        ["udp-4789-text"] = () => Udp4(4789, "GET / HTTP/1.1\r\nHost: 10.20.0.21\r\n\r\n"u8.ToArray()),
        ["udp-4789-without-vni-flag"] = () => Udp4(4789, Vxlan(1, Bridged(0x0800, Syn4(Acme, Globex)), flags: 0x00)),
        ["udp-4789-source-port-only"] = () => Outer4(17, Udp(4789, 49152, Vxlan(1, Bridged(0x0800, Syn4(Acme, Globex))))),
        ["udp-4789-shorter-than-vxlan-header"] = () => Udp4(4789, [0x08, 0, 0, 0]),
        ["udp-6081-geneve-version-1"] = () => Udp4(6081, Geneve(1, EtherTypeBridging, Bridged(0x0800, Syn4(Acme, Globex)), version: 1)),
        ["udp-6081-geneve-unknown-payload"] = () => Udp4(6081, Geneve(1, 0x8847, Bridged(0x0800, Syn4(Acme, Globex)))),
        ["gre-version-1-ipv4-without-key"] = () => Outer4(47, Gre(EtherTypeIpv4, Syn4(Acme, Globex), flags: 0x0001)),
        ["gre-routing-present"] = () => Outer4(47, Gre(EtherTypeIpv4, Syn4(Acme, Globex), flags: 0x4000)),
        ["gre-version-0-ppp"] = () => Outer4(47, Gre(0x880B, Syn4(Acme, Globex))),
        ["udp-4790-vxlan-gpe-nsh"] = () => Udp4(4790, VxlanGpe(1, 4, Syn4(Acme, Globex))),
        ["udp-4790-vxlan-gpe-unknown-next-protocol"] = () => Udp4(4790, VxlanGpe(1, 0x7F, Syn4(Acme, Globex))),
        ["udp-4790-vxlan-gpe-without-next-protocol-flag"] = () => Udp4(4790, VxlanGpe(1, 1, Syn4(Acme, Globex), flags: 0x08)),
        ["udp-4790-vxlan-gpe-version-1"] = () => Udp4(4790, VxlanGpe(1, 1, Syn4(Acme, Globex), flags: 0x1C)),
        ["udp-4754-gre-version-1"] = () => Udp4(4754, Gre(EtherTypeIpv4, Syn4(Acme, Globex), flags: 0x0001)),
        ["mpls-in-udp-neither-ip-nor-pseudowire"] = () => Udp4(6635, Mpls([16], [0x10, .. Syn4(Acme, Globex)])),
        ["vxlan-carrying-non-ip"] = () => Udp4(4789, Vxlan(1, Bridged(0x88CC, Syn4(Acme, Globex)))),
        ["pptp-ack-only"] = () => Outer4(47, Pptp([], sequenced: false, acknowledged: true)),
        ["pptp-without-sequence-number-declaring-a-payload"] = () => Outer4(47, Pptp(Ppp(PppIpv4, Syn4(Acme, Globex)), sequenced: false)),
        ["pptp-lcp-echo"] = () => Outer4(47, Pptp(Ppp(PppLcp, [9, 1, 0, 8, 0, 0, 0, 0]))),
        ["pptp-ccp"] = () => Outer4(47, Pptp(Ppp(PppCcp, [1, 1, 0, 10, 0x12, 6, 0, 0, 0, 0x40]))),
        ["pptp-mppe-encrypted"] = () => Outer4(47, Pptp(Ppp(PppCompressedDatagram, [0x90, 0x01, .. Syn4(Acme, Globex)], addressControl: false, compressProtocol: true))),
        ["l2tp-control-message"] = () => Udp4(1701, L2tp([0x80, 8, 0, 0, 0, 0, 0, 1, .. Syn4(Acme, Globex)], withLength: true, sequenced: true, control: true)),
        ["l2tp-zero-length-ack"] = () => Udp4(1701, L2tp([], withLength: true, sequenced: true, control: true)),
        ["l2tp-lcp"] = () => Udp4(1701, L2tp(Ppp(PppLcp, [1, 1, 0, 4, .. Syn4(Acme, Globex)]))),
        ["udp-1701-l2f"] = () => Udp4(1701, L2tp(Ppp(PppIpv4, Syn4(Acme, Globex)), version: 1)),
        ["udp-1701-text"] = () => Udp4(1701, "not an l2tp header, just some text"u8.ToArray()),
        ["l2tpv3-udp-control"] = () => Udp4(1701, L2tpv3Udp(0, Bridged(0x0800, Syn4(Acme, Globex)), control: true)),
        ["l2tpv3-ip-control"] = () => Outer4(115, L2tpv3Ip(0, Bridged(0x0800, Syn4(Acme, Globex)))),
        ["l2tpv3-ip-with-cookie"] = () => Outer4(115, L2tpv3Ip(0x2001, [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, .. Bridged(0x0800, Syn4(Acme, Globex))])),
        ["l2tpv3-ip-with-cookie-and-sublayer"] = () => Outer4(115, L2tpv3Ip(0x2001, [0x5A, 0x5A, 0x5A, 0x5A, 0x40, 0, 0, 1, .. Bridged(0x0800, Syn4(Acme, Globex))])),
    };

    [Theory]
    [MemberData(nameof(NotTunnels))]
    public void PacketThatDoesNotParseAsAnOpenedTunnel_JudgedAsItselfNoFindingNoError(string name)
    {
        var report = Analysis.Of([NotTunnelFrames[name]()]);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void UdpToVxlanPortBetweenClientsThatIsNoVxlan_OneCrossClientFindingWithoutTunnel()
    {
        var report = Analysis.Of([Udp4(4789, "not a vxlan header, just text"u8.ToArray(), Acme, Globex)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(4789, finding.Evidence["dst_port"]);
        Assert.False(finding.Evidence.ContainsKey("tunnel"));
    }

    [Fact]
    public void ResolverQueryFromPort1701WhoseNameReadsAsL2tp_NotOpenedNoFindingNoError()
    {
        // The site's resolver forwards a query to an off-site server from port 1701, one of its random source
        // ports, and whoever asked it chose the name. Read as L2TPv2, id 0x0A02 sets the sequence and offset bits,
        // ARCOUNT's 1 is the offset, the label's length its padding, and the label a PPP frame holding globex's
        // address reaching acme's upstream: a resolver on the management VLAN would get both clients suspended.
        byte[] label = [0x21, .. Syn4(Globex, "192.0.2.10", 443)];
        byte[] query = [0x0A, 0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, (byte)label.Length, .. label, 0, 0, 1, 0, 1, 0, 0, 0x29, 0x04, 0xD0, 0, 0, 0, 0, 0, 0];
        var infraMac = Mac(TestPolicy.InfraMac);
        var frame = Ethernet(infraMac, infraMac, [99], 0x0800, Ipv4("10.99.0.53", "203.0.113.53", 17, Udp(1701, 53, query)));

        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0xC0)]
    [InlineData(0xFF)]
    public void L2tpv3WithSublayerWhoseFrameAlsoReadsWithoutIt_ReadWithItCrossClientFlowNotHidden(byte sublayerFirstOctet)
    {
        // acme's host gives its pseudowire the MAC 02:00:08:00:45:00. Read without the default sublayer, the frame
        // shifts by four bytes: that MAC's middle becomes an IPv4 EtherType and header start, and the decoy packet
        // goes from the real one's TTL, protocol and checksum (no address of the site) to acme itself. The
        // sublayer's reserved bits, which the receiving end ignores, must not tell the decoder to take the decoy.
        var pseudowire = Ethernet(InnerDestinationMac, Mac("02:00:08:00:45:00"), [], 0x0800, Syn4(Acme, Globex));
        var frame = Outer4(115, L2tpv3Ip(0x2001, [sublayerFirstOctet, 0x00, 0x00, 0x07, .. pseudowire]));

        var report = Analysis.Of([frame]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Globex, finding.Evidence["dst"]);
        Assert.Equal("l2tpv3", finding.Evidence["tunnel"]);
        Assert.Equal(0, report.DecodeErrors);
    }

    [Theory]
    [InlineData("pptp-payload-length-zero")]
    [InlineData("pptp-payload-length-short-of-the-ip-header")]
    [InlineData("l2tp-length-of-its-header-alone")]
    [InlineData("l2tp-length-shorter-than-its-header")]
    [InlineData("l2tp-length-past-the-datagram")]
    public void PptpOrL2tpLengthFieldThatSaysOtherThanThePacket_InnerPacketJudgedAsTheReceiverDeliversIt(string shape)
    {
        // Linux's PPTP receiver hands PPP the whole rest of the GRE packet whatever the payload length says (only a
        // longer one drops it), and its L2TPv2 receiver skips the length field: an acme host whose tunnel to the
        // site's endpoint declares less would otherwise hide its packet to globex.
        var ppp = Ppp(PppIpv4, Syn4(Acme, Globex));
        var frame = shape switch
        {
            "pptp-payload-length-zero" => Outer4(47, Pptp(ppp, payloadLength: 0)),
            "pptp-payload-length-short-of-the-ip-header" => Outer4(47, Pptp(ppp, payloadLength: 10)),
            "l2tp-length-of-its-header-alone" => Udp4(1701, L2tp(ppp, withLength: true, length: 8)),
            "l2tp-length-shorter-than-its-header" => Udp4(1701, L2tp(ppp, withLength: true, length: 3)),
            _ => Udp4(1701, L2tp(ppp, withLength: true, length: 900)),
        };

        var report = Analysis.Of([frame]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Globex, finding.Evidence["dst"]);
        Assert.Equal(445, finding.Evidence["dst_port"]);
        Assert.Equal(0, report.DecodeErrors);
    }

    [Theory]
    [InlineData(47)]
    [InlineData(17)]
    public void VanJacobsonUncompressedTcpInPptpOrL2tp_InnerPacketJudgedAsTcp(int carrier)
    {
        // PPP with Van Jacobson header compression (pppd asks for it by default) sends a connection's first packet
        // as 0x002F: the IPv4 header whole but for its protocol field, which holds the connection's slot (here 3).
        var ppp = Ppp(0x002F, Ipv4(Acme, Globex, 3, Tcp(50100, 445, 0x02, [])));
        var frame = carrier == 47 ? Outer4(47, Pptp(ppp)) : Udp4(1701, L2tp(ppp));

        var report = Analysis.Of([frame]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("tcp", finding.Evidence["protocol"]);
        Assert.Equal(445, finding.Evidence["dst_port"]);
        Assert.Equal(0, report.DecodeErrors);
    }

    private static readonly Dictionary<string, (Func<byte[]> Frame, DecodeError Error, bool Finding)> Malformed = new(StringComparer.Ordinal)
    {
        // The inner header is cut or lies; once its addresses are read it is judged by them.
        ["ipip-inner-shorter-than-ipv4-header"] = (() => Outer4(4, Syn4(Acme, Globex).AsSpan(0, 12).ToArray()), DecodeError.TruncatedIpv4, false),
        ["ipip-inner-not-ipv4"] = (() => Outer4(4, Syn6(Acme6, Globex6)), DecodeError.BadIpv4Header, false),
        ["ipip-inner-total-length-lies"] = (() => Outer4(4, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[8]), totalLengthOverride: 400)), DecodeError.Ipv4LengthLies, true),
        ["gre-inner-ipv6-payload-length-lies"] = (() => Outer4(47, Gre(EtherTypeIpv6, Ipv6(Acme6, Globex6, 17, Udp(5000, 6000, new byte[8]), payloadLengthOverride: 900))), DecodeError.Ipv6LengthLies, true),
        ["vxlan-inner-udp-length-lies"] = (() => Udp4(4789, Vxlan(1, Bridged(0x0800, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[8], lengthOverride: 300))))), DecodeError.UdpLengthLies, true),
        ["vxlan-inner-ethernet-cut"] = (() => Udp4(4789, Vxlan(1, new byte[10])), DecodeError.TruncatedEthernet, false),
        ["geneve-inner-tag-stack-cut"] = (() => Udp4(6081, Geneve(1, EtherTypeBridging, Bridged(0x8100, [0, 10]))), DecodeError.TruncatedVlanTag, false),
        ["gre-header-longer-than-packet"] = (() => Outer4(47, [0xB0, 0x00, 0x08, 0x00, 0, 0]), DecodeError.BadTunnelHeader, false),
        ["mpls-in-udp-stack-without-bottom"] = (() => Udp4(6635, Enumerable.Repeat<byte>(0, 12).ToArray()), DecodeError.TruncatedMplsLabelStack, false),
        ["gre-mpls-stack-deeper-than-bound"] = (() => Outer4(47, Gre(EtherTypeMpls, Mpls([.. Enumerable.Range(16, FrameDecoder.MaxMplsLabels + 1)], Syn4(Acme, Globex)))), DecodeError.MplsLabelStackTooDeep, false),
        ["gre-mpls-pseudowire-control-word-cut"] = (() => Outer4(47, Gre(EtherTypeMpls, Mpls([100], [0, 0]))), DecodeError.TruncatedMplsLabelStack, false),
        ["mpls-in-udp-inner-ipv4-length-lies"] = (() => Udp4(6635, Mpls([16], Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[8]), totalLengthOverride: 400))), DecodeError.Ipv4LengthLies, true),
        ["pptp-payload-length-past-packet"] = (() => Outer4(47, Pptp(Ppp(PppIpv4, Syn4(Acme, Globex)), payloadLength: 900)), DecodeError.BadTunnelHeader, false),
        ["pptp-ppp-address-without-control"] = (() => Outer4(47, Pptp([0xFF, 0x00, 0x00, 0x21, .. Syn4(Acme, Globex)])), DecodeError.BadPppHeader, false),
        ["pptp-inner-ipv4-length-lies"] = (() => Outer4(47, Pptp(Ppp(PppIpv4, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[8]), totalLengthOverride: 400)))), DecodeError.Ipv4LengthLies, true),
        ["l2tp-ppp-protocol-even"] = (() => Udp4(1701, L2tp([0x00, 0x20, .. Syn4(Acme, Globex)])), DecodeError.BadPppHeader, false),
        ["l2tp-inner-ipv6-payload-length-lies"] = (() => Udp4(1701, L2tp(Ppp(PppIpv6, Ipv6(Acme6, Globex6, 17, Udp(5000, 6000, new byte[8]), payloadLengthOverride: 900)))), DecodeError.Ipv6LengthLies, true),
        ["l2tpv3-ip-shorter-than-session-id"] = (() => Outer4(115, [0, 0, 1]), DecodeError.BadTunnelHeader, false),
        ["l2tpv3-inner-udp-length-lies"] = (() => Outer4(115, L2tpv3Ip(0x2001, Bridged(0x0800, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[8], lengthOverride: 300))))), DecodeError.UdpLengthLies, true),
        ["geneve-options-past-datagram"] = (() => Udp4(6081, Geneve(1, EtherTypeIpv4, new byte[8], optionWords: 0).Select((b, i) => i == 0 ? (byte)0x3F : b).ToArray()), DecodeError.BadTunnelHeader, false),
    };

    public static TheoryData<string> MalformedCases() => new(Malformed.Keys);

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void MalformedInnerOrTunnelHeader_DecodeErrorOfItsKindJudgedByAddressesWhenRead(string name)
    {
        var (frame, error, crossClient) = Malformed[name];
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "malformed");
        var bytes = frame();

        analyzer.ProcessFrame(bytes, bytes.Length, Corpus.Start.Ticks);

        Assert.Equal(1, analyzer.DecodeErrors);
        Assert.Equal(1, analyzer.DecodeErrorsByKind[(int)error]);
        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        if (crossClient)
        {
            var finding = Assert.Single(findings);
            Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
            Assert.Equal(["acme", "globex"], finding.Clients);
            Assert.Equal(0, finding.Evidence["dst_port"]);
            Assert.True(finding.Evidence.ContainsKey("tunnel"));
        }
        else
        {
            Assert.Empty(findings);
        }
    }

    [Fact]
    public void EveryTruncationOfEveryTunnelFrame_NoExceptionAtMostOneErrorPerFrame()
    {
        var frames = CrossClient.Values.Select(c => c.Frame()).Concat(Malformed.Values.Select(m => m.Frame())).Concat(NotTunnelFrames.Values.Select(f => f())).ToArray();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "truncation");
        var ticks = Corpus.Start.Ticks;
        long cases = 0;
        foreach (var frame in frames)
        {
            for (var length = 0; length <= frame.Length; length++)
            {
                // Cut by a snap length (wire length intact) and cut on the wire (lengths then lie).
                foreach (var wire in (int[])[frame.Length, length])
                {
                    var before = analyzer.DecodeErrors;
                    analyzer.ProcessFrame(frame.AsSpan(0, length), wire, ticks += 10);
                    Assert.InRange(analyzer.DecodeErrors - before, 0, 1);
                    cases++;
                }
            }
        }

        Assert.Equal(cases, analyzer.Packets);
        Assert.Equal(analyzer.DecodeErrors, analyzer.DecodeErrorsByKind.Sum());
        Assert.True(analyzer.DecodeErrorsByKind[(int)DecodeError.TruncatedTunnelHeader] > 0);
        Assert.True(analyzer.DecodeErrorsByKind[(int)DecodeError.TruncatedPppHeader] > 0);
        Assert.All(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => Assert.Equal(RuleIds.CrossClientFlow, f.Rule));
    }

    [Fact]
    public void WarmTunnelTraffic_DecodeClassifyAndJudgeAllocateNothingPerFrame()
    {
        var frames = CrossClient.Values.Select(c => c.Frame()).Concat(NotTunnelFrames.Values.Select(f => f())).ToArray();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "alloc");
        var ticks = Corpus.Start.Ticks;
        Analysis.Feed(analyzer, frames, ref ticks, passes: 10);

        var least = Analysis.LeastAllocated(analyzer, frames, ref ticks, attempts: 5);

        Assert.Equal(0, least);

        // A flow is the inner packet's and the tunnels it came through, not the tunnel's endpoints: the GRE
        // cases carrying the same inner packet are one flow.
        Assert.Equal(CrossClient.Values.DistinctBy(c => (c.Tunnel, c.Src)).Count(), analyzer.AllFindings(DateTimeOffset.UnixEpoch).Count);
    }

    [Fact]
    public void TunnelFrameWrittenAndReadBack_ViolationKeepsTheWholeFrameAsEvidence()
    {
        var frame = CrossClient["geneve-ethernet-with-options"].Frame();

        var report = Analysis.OfFrames([new EvidenceFrame(Corpus.Start.Ticks, frame.Length, frame)]);

        Assert.Equal(frame, Assert.Single(report.Violations).Frames.Single().Data);
    }
}
