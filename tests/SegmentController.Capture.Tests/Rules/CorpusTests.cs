using SegmentController.Capture.Classification;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Capture.Tests.Rules;

public sealed class CorpusTests
{
    public static TheoryData<string> LeakRules() => new(Corpus.Leaks().Keys);

    [Fact]
    public void CleanMix_NoFindingsNoDecodeErrors()
    {
        var clean = Corpus.CleanMix();

        var report = Analysis.Of(clean);

        Assert.Equal(clean.Count, report.Packets);
        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Theory]
    [MemberData(nameof(LeakRules))]
    public void CleanMixPlusLeak_ExactlyThatRuleFires(string rule)
    {
        var frames = Corpus.CleanMix();
        var leak = Corpus.Leaks()[rule];
        frames.AddRange(leak);

        var report = Analysis.Of(frames);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(rule, finding.Rule);
        Assert.Equal(FindingSource.Capture, finding.Source);
        Assert.Equal(0, report.DecodeErrors);
    }

    [Fact]
    public void CrossClientFlow_OneFindingPerFlowWithCountsClientsAndEvidence()
    {
        var frames = Corpus.CleanMix();
        frames.AddRange(Corpus.Leaks()[RuleIds.CrossClientFlow]);

        var finding = Assert.Single(Analysis.Of(frames).Findings);

        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(
            ["vlans", "src", "dst", "protocol", "src_port", "dst_port", "packets", "first_seen", "last_seen"],
            finding.Evidence.Keys);
        Assert.Equal(new[] { 10 }, finding.Evidence["vlans"]);
        Assert.Equal("10.10.0.11", finding.Evidence["src"]);
        Assert.Equal("10.20.0.21", finding.Evidence["dst"]);
        Assert.Equal("tcp", finding.Evidence["protocol"]);
        Assert.Equal(50100, finding.Evidence["src_port"]);
        Assert.Equal(445, finding.Evidence["dst_port"]);
        Assert.Equal(2L, finding.Evidence["packets"]);
        var first = (DateTimeOffset)finding.Evidence["first_seen"]!;
        var last = (DateTimeOffset)finding.Evidence["last_seen"]!;
        Assert.Equal(TimeSpan.FromMilliseconds(1), last - first);
        Assert.Contains("10.10.0.11", finding.Summary, StringComparison.Ordinal);
        Assert.Contains("globex", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void VlanHopping_EvidenceListsTagsOuterToInner()
    {
        var finding = Assert.Single(Analysis.Of(Corpus.Leaks()[RuleIds.VlanHopping]).Findings);

        Assert.Equal(RuleIds.VlanHopping, finding.Rule);
        Assert.Equal(new[] { 1, 20 }, finding.Evidence["vlans"]);
        Assert.Equal(["globex"], finding.Clients);
    }

    [Fact]
    public void StackedTags_SiteRunsQinQ_NoVlanHopping()
    {
        var report = Analysis.Of(Corpus.Leaks()[RuleIds.VlanHopping], TestPolicy.Index(qinq: true));

        Assert.Empty(report.Findings);
    }

    [Fact]
    public void CaptureFileWithGapLongerThanSilence_NoFinding()
    {
        // A quiet stretch inside a file loses nothing of what the file holds: silence is judged live only.
        var frames = Corpus.Timed(Corpus.CleanMix());
        var late = Corpus.Timed(Corpus.CleanMix(), Corpus.Start.AddMinutes(5));

        var report = Analysis.OfFrames([.. frames, .. late]);

        Assert.Empty(report.Findings);
    }

    [Fact]
    public void ManyPacketsOfOneLeak_OneFinding()
    {
        var leak = Corpus.Leaks()[RuleIds.CrossClientFlow][1];

        var report = Analysis.Of(Enumerable.Repeat(leak, 500));

        var finding = Assert.Single(report.Findings);
        Assert.Equal(500L, finding.Evidence["packets"]);
        var violation = Assert.Single(report.Violations);
        Assert.Equal(8, violation.Frames.Count);
    }

    [Fact]
    public void ProxyBypass_NamesSegmentClientUpstreamAndServerName()
    {
        var finding = Assert.Single(Analysis.Of(Corpus.Leaks()[RuleIds.ProxyBypass]).Findings);

        Assert.Equal(Severity.High, finding.Severity);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("192.0.2.10", finding.Evidence["dst"]);
        Assert.Equal(443, finding.Evidence["dst_port"]);
        Assert.Equal("crm.acme.example", finding.Evidence["sni"]);
        Assert.Contains("its client's upstream", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void SegmentReachesAnotherClientsUpstream_CrossClientFlowNotProxyBypass()
    {
        // acme's agent straight to globex's upstream: traffic between clients, not a bypass of acme's proxy.
        var frames = new List<byte[]>
        {
            Frames.Ethernet(Frames.Mac(TestPolicy.AcmeGatewayMac), Frames.Mac(TestPolicy.AcmeAgentMac), [10], 0x86DD,
                Frames.Ipv6("2001:db8:10::11", "2001:db8:ffff::20", 6, Frames.Tcp(50300, 8443, 0x18, Frames.ClientHello(0x0303, "erp.globex.example", [0x0304])))),
            Frames.Ethernet(Frames.Mac(TestPolicy.AcmeAgentMac), Frames.Mac(TestPolicy.AcmeGatewayMac), [10], 0x86DD,
                Frames.Ipv6("2001:db8:ffff::20", "2001:db8:10::11", 6, Frames.Tcp(8443, 50300, 0x18, Frames.ServerHello(0x0303, 0x0304)))),
        };

        var findings = Analysis.Of(frames).Findings;

        Assert.Equal(2, findings.Count);
        Assert.All(findings, f =>
        {
            Assert.Equal(RuleIds.CrossClientFlow, f.Rule);
            Assert.Equal(Severity.Critical, f.Severity);
            Assert.Equal(["acme", "globex"], f.Clients);
            Assert.Equal("erp.globex.example", f.Evidence["sni"]);
            Assert.Contains("another client's upstream", f.Summary, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task UpstreamSharedByTwoClients_OwnClientsSegmentIsProxyBypassOnlyForIt()
    {
        var policy = TestPolicy.Create();
        var globex = policy.Clients[1] with
        {
            Upstreams = [.. policy.Clients[1].Upstreams, new Upstream { Name = "saas", Hosts = ["saas.example"], Destinations = [new Uri("https://192.0.2.10/")] }],
        };
        var index = await PolicyIndex.BuildAsync(policy with { Clients = [policy.Clients[0], globex] }, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        var finding = Assert.Single(Analysis.Of(Corpus.Leaks()[RuleIds.ProxyBypass], index).Findings);

        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
    }
}
