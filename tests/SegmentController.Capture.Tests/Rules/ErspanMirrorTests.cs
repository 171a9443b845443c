using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TunnelFrames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A switch of the site (10.99.0.2, infrastructure) mirrors its ports to the collector (10.99.0.60) by ERSPAN:
/// each mirrored frame is judged as if captured on the wire, tag and MAC rules included. ERSPAN from anywhere
/// else is a host's tunnel, judged as one.
/// </summary>
public sealed class ErspanMirrorTests
{
    private const string Switch = "10.99.0.2";
    private const string Collector = "10.99.0.60";
    private const string Acme = "10.10.0.11";
    private const string Acme2 = "10.10.0.12";
    private const string Globex = "10.20.0.21";

    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] Agent2Mac = Mac(TestPolicy.AcmeAgent2Mac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);
    private static readonly byte[] SwitchMac = Mac("02:00:00:00:99:02");
    private static readonly byte[] CollectorMac = Mac("02:00:00:00:99:60");

    private static byte[] Syn(string source, string destination) => Ipv4(source, destination, 6, Tcp(50100, 445, 0x02, []));

    /// <summary>An acme agent's SYN to a globex host, as the switch saw it on acme's VLAN 10.</summary>
    private static byte[] LeakOnVlan10() => Ethernet(GatewayMac, AgentMac, [10], 0x0800, Syn(Acme, Globex));

    /// <summary>An ERSPAN carrier from <paramref name="source"/> to the collector, on <paramref name="vlans"/>.</summary>
    private static byte[] Carrier(byte[] erspan, string source = Switch, int[]? vlans = null, byte[]? sourceMac = null) =>
        Ethernet(CollectorMac, sourceMac ?? SwitchMac, vlans ?? [99], 0x0800, Ipv4(source, Collector, 47, erspan));

    private static readonly Dictionary<string, Func<byte[], byte[]>> Mirrors = new(StringComparer.Ordinal)
    {
        ["type-i"] = mirrored => Carrier(ErspanI(mirrored)),
        ["type-ii"] = mirrored => Carrier(ErspanII(7, 0, mirrored)),
        ["type-ii-untagged-carrier"] = mirrored => Carrier(ErspanII(7, 0, mirrored), vlans: []),
        ["type-ii-tag-in-frame"] = mirrored => Carrier(ErspanII(7, 10, mirrored, encapsulation: 3)),
        ["type-iii"] = mirrored => Carrier(ErspanIii(7, 0, mirrored)),
        ["type-iii-platform-subheader"] = mirrored => Carrier(ErspanIii(7, 0, mirrored, platform: true)),
    };

    public static TheoryData<string> MirrorKinds() => new(Mirrors.Keys);

    [Theory]
    [MemberData(nameof(MirrorKinds))]
    public void SwitchMirrorsAcmeToGlobexFrame_CrossClientFlowAsOnTheWireNamingTheMirror(string kind)
    {
        var frame = Mirrors[kind](LeakOnVlan10());

        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(Acme, finding.Evidence["src"]);
        Assert.Equal(Globex, finding.Evidence["dst"]);
        Assert.Equal(445, finding.Evidence["dst_port"]);
        Assert.Equal(new[] { 10 }, finding.Evidence["vlans"]);
        Assert.Equal("erspan", finding.Evidence["mirror"]);
        Assert.Equal(Switch, finding.Evidence["mirror_src"]);
        Assert.Equal(kind == "type-i" ? 0 : 7, finding.Evidence["erspan_session"]);
        Assert.False(finding.Evidence.ContainsKey("tunnel"));
        Assert.Contains($"on VLAN 10, mirrored by {Switch} (ERSPAN session", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void MirroredFrame_EvidenceIsTheFrameTheSwitchSaw()
    {
        var mirrored = LeakOnVlan10();

        var report = Analysis.Of([Mirrors["type-ii"](mirrored)]);

        Assert.Equal(mirrored, Assert.Single(report.Violations).Frames.Single().Data);
    }

    [Fact]
    public void MirroredFrameOnAcmesVlanFromGlobexAddress_VlanSubnetMismatch()
    {
        var mirrored = Ethernet(GatewayMac, AgentMac, [10], 0x0800, Syn(Globex, "10.99.0.53"));

        var report = Analysis.Of([Mirrors["type-ii"](mirrored)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.VlanSubnetMismatch, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("erspan", finding.Evidence["mirror"]);
    }

    [Fact]
    public void UntaggedMirroredFrameTheHeaderPutsOnAcmesVlan_JudgedOnThatVlan()
    {
        // The switch took the port's tag off (encapsulation "originally 802.1Q") and names VLAN 10 in the header.
        var mirrored = Ethernet(GatewayMac, AgentMac, [], 0x0800, Syn(Globex, "10.99.0.53"));

        var report = Analysis.Of([Carrier(ErspanII(7, 10, mirrored, encapsulation: 2))]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.VlanSubnetMismatch, finding.Rule);
        Assert.Equal(new[] { 10 }, finding.Evidence["vlans"]);
    }

    [Fact]
    public void MirroredFrameWithStackedTags_VlanHopping()
    {
        var mirrored = Ethernet(GatewayMac, AgentMac, [20, 10], 0x0800, Syn(Acme, Acme2));

        var report = Analysis.Of([Mirrors["type-iii"](mirrored)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.VlanHopping, finding.Rule);
        Assert.Equal(new[] { 20, 10 }, finding.Evidence["vlans"]);
    }

    [Fact]
    public void MirroredFrameFromUnlistedMac_UnknownMac()
    {
        var mirrored = Ethernet(GatewayMac, Mac("02:00:00:00:10:66"), [10], 0x0800, Syn(Acme, Acme2));

        var report = Analysis.Of([Mirrors["type-ii"](mirrored)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.UnknownMac, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
    }

    [Fact]
    public void MirroredArpBetweenClients_CrossClientFlow()
    {
        var mirrored = Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, Acme, new byte[6], Globex));

        var report = Analysis.Of([Mirrors["type-ii"](mirrored)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("arp", finding.Evidence["protocol"]);
        Assert.Equal("erspan", finding.Evidence["mirror"]);
    }

    [Fact]
    public void MirroredFrameCarryingATunnel_TunnelledLeakJudgedAndNamesBoth()
    {
        var mirrored = Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4(Acme, "10.99.0.50", 47, Gre(EtherTypeIpv4, Syn(Acme, Globex))));

        var report = Analysis.Of([Mirrors["type-ii"](mirrored)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("gre", finding.Evidence["tunnel"]);
        Assert.Equal(Acme, finding.Evidence["tunnel_src"]);
        Assert.Equal("erspan", finding.Evidence["mirror"]);
    }

    [Fact]
    public void MirrorOfAnotherSwitchsMirror_JudgedWithTheSwitchAndSessionThatSawTheFrame()
    {
        // Switch 10.99.0.2 (session 1) mirrors its uplink, which carries switch 10.99.0.3's session 2.
        var inner = Ethernet(CollectorMac, SwitchMac, [99], 0x0800, Ipv4("10.99.0.3", Collector, 47, ErspanII(2, 0, LeakOnVlan10())));

        var report = Analysis.Of([Carrier(ErspanIii(1, 0, inner))]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("10.99.0.3", finding.Evidence["mirror_src"]);
        Assert.Equal(2, finding.Evidence["erspan_session"]);
    }

    [Fact]
    public void MirroredHostSendingErspan_TunnelledPacketNamesTheMirrorsSession()
    {
        // Switch 10.99.0.2 (session 7) mirrors an acme host that sends ERSPAN (session 300) of its own.
        var hostErspan = Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4(Acme, Collector, 47, ErspanII(300, 0, LeakOnVlan10())));

        var report = Analysis.Of([Carrier(ErspanII(7, 0, hostErspan))]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal("erspan", finding.Evidence["tunnel"]);
        Assert.Equal(Switch, finding.Evidence["mirror_src"]);
        Assert.Equal(7, finding.Evidence["erspan_session"]);
    }

    [Fact]
    public void OrdinaryMirroredTraffic_NothingRaisedAndFramesCountForTheirClients()
    {
        var frames = new[]
        {
            Mirrors["type-ii"](Ethernet(GatewayMac, AgentMac, [10], 0x0800, Syn(Acme, Acme2))),
            Mirrors["type-iii"](Ethernet(AgentMac, Agent2Mac, [10], 0x0800, Syn(Acme2, Acme))),
            Mirrors["type-i"](Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, Acme, new byte[6], Acme2))),
            Carrier(ErspanII(8, 20, Ethernet(Broadcast, GlobexMac, [], 0x0800, Ipv4(Globex, "10.99.0.53", 17, Udp(5353, 53, new byte[30]))))),
        };

        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "erspan");
        var ticks = Corpus.Start.Ticks;
        Analysis.Feed(analyzer, frames, ref ticks, passes: 1);

        Assert.Equal(0, analyzer.DecodeErrors);
        Assert.Empty(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
        Assert.Equal(3L, analyzer.ClientPackets()["acme"]);
        Assert.Equal(1L, analyzer.ClientPackets()["globex"]);
    }

    /// <summary>Name → a forged ERSPAN carrier holding the acme → globex frame, and its tunnel evidence source.</summary>
    private static readonly Dictionary<string, (Func<byte[]> Frame, string TunnelSource)> Forged = new(StringComparer.Ordinal)
    {
        // An acme host sends ERSPAN from its own address on its VLAN.
        ["client-address"] = (() => Carrier(ErspanII(7, 0, LeakOnVlan10()), source: Acme, vlans: [10], sourceMac: AgentMac), Acme),

        // An acme host forges the switch's address, but on its own VLAN: no switch mirrors there.
        ["switch-address-on-client-vlan"] = (() => Carrier(ErspanII(7, 0, LeakOnVlan10()), source: Switch, vlans: [10], sourceMac: AgentMac), Switch),

        // A host with an address outside the plan, untagged.
        ["outside-address-untagged"] = (() => Carrier(ErspanIii(7, 0, LeakOnVlan10()), source: "198.51.100.7", vlans: []), "198.51.100.7"),
    };

    public static TheoryData<string> ForgedKinds() => new(Forged.Keys);

    [Theory]
    [MemberData(nameof(ForgedKinds))]
    public void ErspanNotFromASwitch_JudgedAsTheSendersTunnelNotAsAMirror(string kind)
    {
        var (frame, tunnelSource) = Forged[kind];

        var report = Analysis.Of([frame()]);

        Assert.All(report.Findings, f => Assert.False(f.Evidence.ContainsKey("mirror")));

        // Judged as a tunnel: never the mirrored frame's own tag and MAC findings.
        Assert.DoesNotContain(report.Findings, f => f.Rule is RuleIds.VlanHopping or RuleIds.UnknownMac or RuleIds.UnknownVlan && f.Evidence.ContainsKey("tunnel"));
        var leaks = report.Findings.Where(f => f.Rule == RuleIds.CrossClientFlow && f.Evidence.ContainsKey("tunnel")).ToArray();
        if (kind == "outside-address-untagged")
        {
            // A tunnel end outside the plan is off-site: its inner addresses name no client here.
            Assert.Empty(leaks);
            Assert.Empty(report.Findings);
            return;
        }

        var leak = Assert.Single(leaks);
        Assert.Equal(["acme", "globex"], leak.Clients);
        Assert.Equal("erspan", leak.Evidence["tunnel"]);
        Assert.Equal(tunnelSource, leak.Evidence["tunnel_src"]);
        Assert.Equal(Collector, leak.Evidence["tunnel_dst"]);
        Assert.Equal(new[] { 10 }, leak.Evidence["vlans"]);
    }

    [Fact]
    public void SwitchAddressOnTheManagementVlanInsideAcmesVlan_NotAMirror()
    {
        // On a QinQ site the tags inside the one acme's access port pushes are the host's own: an acme host can
        // put the management VLAN there and forge the switch's address to have globex → acme "seen on the wire".
        var fake = Ethernet(AgentMac, GlobexMac, [20], 0x0800, Syn(Globex, Acme));

        var report = Analysis.Of([Carrier(ErspanII(7, 20, fake), source: Switch, vlans: [10, 99], sourceMac: AgentMac)], TestPolicy.Index(qinq: true));

        Assert.NotEmpty(report.Findings);
        Assert.All(report.Findings, f => Assert.False(f.Evidence.ContainsKey("mirror")));
        Assert.All(report.Findings, f => Assert.Equal("erspan", f.Evidence["tunnel"]));
        Assert.All(report.Findings, f => Assert.Equal(new[] { 10, 99 }, f.Evidence["vlans"]));
    }

    [Fact]
    public void ForgedMirrorOfAnotherClientsFrameFromAClientHost_NeverAsTheOtherClientsOwnTraffic()
    {
        // An acme host forges a "mirror" of globex → acme traffic on globex's VLAN, hoping to get globex
        // suspended: it is acme's tunnel, on acme's VLAN, not a frame seen on globex's.
        var fake = Ethernet(AgentMac, GlobexMac, [20], 0x0800, Syn(Globex, Acme));

        var report = Analysis.Of([Carrier(ErspanII(7, 20, fake), source: Acme, vlans: [10], sourceMac: AgentMac)]);

        Assert.NotEmpty(report.Findings);
        Assert.All(report.Findings, f => Assert.Equal(new[] { 10 }, f.Evidence["vlans"]));
        Assert.All(report.Findings, f => Assert.Equal("erspan", f.Evidence["tunnel"]));
        Assert.All(report.Findings, f => Assert.Contains("acme", f.Clients));
    }

    [Fact]
    public void MirroredFrameTheSwitchCut_JudgedAsCutBySnapLength()
    {
        // The switch truncated the mirror (T bit): the IP header declares more than the mirror holds.
        var whole = Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[400])));
        var cut = whole[..100];

        var report = Analysis.Of([Carrier(ErspanII(7, 0, cut, truncated: true))]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(6000, finding.Evidence["dst_port"]);
    }

    [Fact]
    public void MalformedErspanHeaders_DecodeErrorsNeverExceptions()
    {
        var mirrored = LeakOnVlan10();
        var typeII = ErspanII(7, 0, mirrored);
        var typeIii = ErspanIii(7, 0, mirrored, platform: true);
        var frames = new[]
        {
            Carrier(ErspanII(7, 0, mirrored, version: 2)),
            Carrier(ErspanIii(7, 0, mirrored, version: 1)),
            Carrier(typeII[..10]),
            Carrier(typeIii[..22]),
            Carrier(ErspanII(7, 0, mirrored.AsSpan(0, 10))),
        };

        var report = Analysis.Of(frames);

        Assert.Equal(frames.Length, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void WarmMirroredTraffic_DecodeClassifyAndJudgeAllocateNothingPerFrame()
    {
        var frames = Mirrors.Values.Select(m => m(LeakOnVlan10()))
            .Concat(Forged.Values.Select(f => f.Frame()))
            .Append(Mirrors["type-ii"](Ethernet(GatewayMac, AgentMac, [10], 0x0800, Syn(Acme, Acme2))))
            .Append(Mirrors["type-ii"](Ethernet(Broadcast, AgentMac, [10], 0x0806, Arp(1, AgentMac, Acme, new byte[6], Acme2))))
            .ToArray();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "alloc");
        var ticks = Corpus.Start.Ticks;
        Analysis.Feed(analyzer, frames, ref ticks, passes: 10);

        var least = Analysis.LeastAllocated(analyzer, frames, ref ticks, attempts: 5);

        Assert.Equal(0, least);
        Assert.Equal(0, analyzer.DecodeErrors);

        // Every kind of mirror carries the same frame: one flow, one finding.
        Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Evidence.ContainsKey("mirror"));
    }
}
