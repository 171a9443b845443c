using SegmentController.Capture.Classification;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A QinQ site whose hosts sit behind dot1q-tunnel ports (<c>segment_tag: outer</c>): the switch pushes the
/// segment's service tag (802.1ad, outer) and the host writes the customer tag (802.1Q, inner) itself. An acme
/// host writing globex's VLAN 20 as its inner tag is still acme's segment sending (its outer tag is acme's 10):
/// it can neither hide its traffic to globex nor get globex named in a finding. With <c>segment_tag: inner</c>
/// the innermost tag names the segment, as it always has.
/// </summary>
public sealed class QinQSegmentTagTests
{
    private static readonly byte[] AcmeMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);
    private static readonly byte[] NoMac = new byte[6];

    private static PolicyIndex OuterSite() => TestPolicy.Index(qinq: true, segmentTag: SegmentTag.Outer);

    private static PolicyIndex InnerSite() => TestPolicy.Index(qinq: true);

    /// <summary>A frame as the mirror sees it behind a dot1q-tunnel port: the switch's service tag, then the host's own.</summary>
    private static byte[] Stacked(byte[] source, int[] vlans, ushort etherType, byte[] payload) =>
        Ethernet(GlobexMac, source, vlans, etherType, payload, tpids: vlans.Length == 2 ? [0x88A8, 0x8100] : null);

    private static byte[] Udp4(byte[] sourceMac, int[] vlans, string source, string destination) =>
        Stacked(sourceMac, vlans, 0x0800, Ipv4(source, destination, 17, Udp(5000, 6000, new byte[16])));

    private static byte[] Syn4(byte[] sourceMac, int[] vlans, string source, string destination) =>
        Stacked(sourceMac, vlans, 0x0800, Ipv4(source, destination, 6, Tcp(40000, 443, 0x02, [])));

    private static byte[] ArpRequest(byte[] senderMac, int[] vlans, string sender, string target) =>
        Ethernet(Broadcast, senderMac, vlans, 0x0806, Arp(1, senderMac, sender, NoMac, target), tpids: vlans.Length == 2 ? [0x88A8, 0x8100] : null);

    [Theory]
    [InlineData("172.16.0.5", "10.20.0.21")]
    [InlineData("0.0.0.0", "10.20.0.21")]
    public void ForgedSourceUnderGlobexInnerTagToGlobex_OuterSegmentTag_CrossClientFlowFromAcme(string source, string destination)
    {
        var frame = Udp4(AcmeMac, [10, 20], source, destination);

        var finding = Assert.Single(Analysis.Of([frame], OuterSite()).Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(new[] { 10, 20 }, finding.Evidence["vlans"]);
        Assert.Equal(destination, finding.Evidence["dst"]);

        // Where the inner tag names the segment, the same frame is globex's segment talking to itself.
        Assert.Empty(Analysis.Of([frame], InnerSite()).Findings);
    }

    [Fact]
    public void LinkLocalSourceUnderGlobexInnerTagToGlobexIpv6_OuterSegmentTag_CrossClientFlowFromAcme()
    {
        var frame = Stacked(AcmeMac, [10, 20], 0x86DD, Ipv6("fe80::1", "2001:db8:20::21", 17, Udp(5000, 6000, new byte[16])));

        var finding = Assert.Single(Analysis.Of([frame], OuterSite()).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Empty(Analysis.Of([frame], InnerSite()).Findings);
    }

    [Fact]
    public void OwnTrafficUnderGlobexInnerTag_OuterSegmentTag_NoFindingAgainstGlobex()
    {
        // acme's own addresses: only the inner tag says globex. Read as the segment, that tag made globex's
        // VLAN carry acme's address, a critical finding naming globex, which an acme host could raise at will.
        var frame = Udp4(AcmeMac, [10, 20], "10.10.0.11", "10.10.0.12");

        Assert.Empty(Analysis.Of([frame], OuterSite()).Findings);

        var forged = Assert.Single(Analysis.Of([frame], InnerSite()).Findings);
        Assert.Equal(RuleIds.VlanSubnetMismatch, forged.Rule);
        Assert.Equal(["acme", "globex"], forged.Clients);
    }

    [Fact]
    public void ForgedSourceUnderGlobexInnerTagToAcmeUpstream_OuterSegmentTag_ProxyBypassOfAcmeAlone()
    {
        var frame = Syn4(AcmeMac, [10, 20], "172.16.0.5", "192.0.2.10");

        var finding = Assert.Single(Analysis.Of([frame], OuterSite()).Findings);
        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);

        var forged = Assert.Single(Analysis.Of([frame], InnerSite()).Findings);
        Assert.Equal(RuleIds.CrossClientFlow, forged.Rule);
        Assert.Equal(["acme", "globex"], forged.Clients);
    }

    [Fact]
    public void OwnAddressUnderGlobexInnerTagToAcmeUpstream_OuterSegmentTag_FindingNamesAcmeAlone()
    {
        // The finding is acme's own; the inner tag must not bring globex into it (and into its suspension).
        var frame = Syn4(AcmeMac, [10, 20], "10.10.0.11", "192.0.2.10");

        var finding = Assert.Single(Analysis.Of([frame], OuterSite()).Findings);
        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal(new[] { 10, 20 }, finding.Evidence["vlans"]);

        var inner = Analysis.Of([frame], InnerSite()).Findings;
        Assert.Equal([RuleIds.ProxyBypass, RuleIds.VlanSubnetMismatch], inner.Select(f => f.Rule).Order(StringComparer.Ordinal));
        Assert.All(inner, f => Assert.Equal(["acme", "globex"], f.Clients));
    }

    [Fact]
    public void ForgedSourceUnderGlobexInnerTagToUpstreamBothClientsShare_OuterSegmentTag_ProxyBypassOfAcmeAlone()
    {
        // One upstream address serves acme and globex: the finding names the one whose segment reached it.
        var shared = "https://[2001:db8:ffff::20]:8443/";
        var frame = Stacked(AcmeMac, [10, 20], 0x86DD, Ipv6("fd00::5", "2001:db8:ffff::20", 6, Tcp(40000, 8443, 0x02, [])));
        PolicyIndex Site(SegmentTag tag) =>
            PolicyIndex.BuildAsync(TestPolicy.Create(qinq: true, upstreamHost: shared, segmentTag: tag), null, TimeSpan.FromSeconds(2), CancellationToken.None).GetAwaiter().GetResult();

        var finding = Assert.Single(Analysis.Of([frame], Site(SegmentTag.Outer)).Findings);
        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);

        var inner = Assert.Single(Analysis.Of([frame], Site(SegmentTag.Inner)).Findings);
        Assert.Equal(RuleIds.ProxyBypass, inner.Rule);
        Assert.Equal(["acme", "globex"], inner.Clients);
    }

    [Fact]
    public void GlobexHostUnderAcmeInnerTag_OuterSegmentTag_AcmeMacListDoesNotApply()
    {
        // acme lists its MACs; globex's host writing acme's VLAN inside its own service tag is on globex's wire.
        var frame = Udp4(GlobexMac, [20, 10], "10.20.0.21", "10.20.0.22");

        Assert.Empty(Analysis.Of([frame], OuterSite()).Findings);

        var inner = Analysis.Of([frame], InnerSite()).Findings;
        Assert.Contains(inner, f => f.Rule == RuleIds.UnknownMac && f.Clients.Contains("acme"));
    }

    [Theory]
    [InlineData(new[] { 10, 300 }, null, RuleIds.UnknownVlan)]
    [InlineData(new[] { 400, 10 }, RuleIds.UnknownVlan, null)]
    public void VlanNoSegmentNames_UnknownVlanJudgedByTheSegmentTag(int[] vlans, string? outerSite, string? innerSite)
    {
        // Behind a dot1q-tunnel port the inner tag is the client's own customer VLAN, which no policy lists;
        // the outer tag is the switch's, and one no segment names is unknown.
        var frame = Udp4(AcmeMac, vlans, "10.10.0.11", "10.10.0.12");

        Assert.Equal(outerSite is null ? [] : [outerSite], Analysis.Of([frame], OuterSite()).Findings.Select(f => f.Rule));
        Assert.Equal(innerSite is null ? [] : [innerSite], Analysis.Of([frame], InnerSite()).Findings.Select(f => f.Rule));
    }

    [Fact]
    public void AcmeHostClaimsGlobexAddressUnderGlobexInnerTag_OuterSegmentTag_GlobexHostIsNoSpoofer()
    {
        // An acme host binds globex's 10.20.0.30 first, writing globex's VLAN inside its service tag; then globex's
        // own host claims its address. Bound under the inner tag, globex's host would be the one judged a spoofer.
        var frames = new[]
        {
            ArpRequest(AcmeMac, [10, 20], "10.20.0.30", "10.20.0.1"),
            ArpRequest(GlobexMac, [20], "10.20.0.30", "10.20.0.1"),
        };

        var outer = Assert.Single(Analysis.Of(frames, OuterSite()).Findings);
        Assert.Equal(RuleIds.VlanSubnetMismatch, outer.Rule);
        Assert.Equal(new[] { 10, 20 }, outer.Evidence["vlans"]);
        Assert.Equal("10.20.0.30", outer.Evidence["src"]);

        var inner = Assert.Single(Analysis.Of(frames, InnerSite()).Findings);
        Assert.Equal(RuleIds.ArpSpoofing, inner.Rule);
        Assert.Equal(new[] { 20 }, inner.Evidence["vlans"]);
        Assert.Equal(["globex"], inner.Clients);
    }

    [Fact]
    public void HostOnUnnamedServiceVlanFloodsArpUnderGlobexInnerTag_OuterSegmentTag_OverflowIsTheRemainders()
    {
        // A host behind a port whose service VLAN 400 no segment names (a guest network) writes globex's VLAN inside
        // it and claims globex's addresses, far past any share. Counted in globex's share, the overflow is globex's
        // verification lost, and suspends globex; with the outer tag naming the segment it is the remainder's.
        var outer = ArpOverflowOfFlood(OuterSite());
        Assert.Equal(true, outer.Evidence["shared"]);
        Assert.Equal(400, outer.Evidence["vlan"]);
        Assert.Empty(outer.Clients);

        var inner = ArpOverflowOfFlood(InnerSite());
        Assert.Equal(false, inner.Evidence["shared"]);
        Assert.Equal(20, inner.Evidence["vlan"]);
        Assert.Equal(["globex"], inner.Clients);

        static Finding ArpOverflowOfFlood(PolicyIndex index)
        {
            var analyzer = new CaptureAnalyzer(index, "eth-test", new CaptureAnalyzerOptions { ArpBindingCapacity = 1_024 });
            var ticks = Corpus.Start.Ticks;
            for (var i = 0; i < 1_024; i++)
            {
                var frame = ArpRequest(AcmeMac, [400, 20], $"10.20.{i / 250}.{(i % 250) + 1}", "10.20.0.1");
                analyzer.ProcessFrame(frame, frame.Length, ticks += TimeSpan.TicksPerMillisecond);
            }

            var overflow = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
            Assert.Equal("arp-overflow", overflow.Evidence["reason"]);
            return overflow;
        }
    }

    [Fact]
    public async Task SegmentTagReloaded_ExistingFlowJudgedByTheNewSegmentTag()
    {
        var frame = Udp4(AcmeMac, [10, 20], "172.16.0.5", "10.20.0.21");
        var analyzer = new CaptureAnalyzer(InnerSite(), "eth-test");
        var t = Corpus.Start.Ticks;
        analyzer.ProcessFrame(frame, frame.Length, t);
        Assert.Empty(analyzer.AllFindings(DateTimeOffset.UnixEpoch));

        analyzer.UpdatePolicy(await PolicyIndex.BuildAsync(TestPolicy.Create(qinq: true, segmentTag: SegmentTag.Outer), null, TimeSpan.FromSeconds(1), CancellationToken.None));
        analyzer.ProcessFrame(frame, frame.Length, t + 10);

        var finding = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(1L, finding.Evidence["packets"]);

        // Back to the inner tag: the flow is globex's own again and counts no more against the finding.
        analyzer.UpdatePolicy(await PolicyIndex.BuildAsync(TestPolicy.Create(qinq: true), null, TimeSpan.FromSeconds(1), CancellationToken.None));
        analyzer.ProcessFrame(frame, frame.Length, t + 20);

        Assert.Equal(1L, Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch)).Evidence["packets"]);
    }
}
