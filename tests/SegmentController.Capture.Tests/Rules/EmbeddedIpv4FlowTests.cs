using System.Net;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// Traffic between clients that names one end by an IPv6 form of its IPv4 address (NAT64, 6to4, ISATAP,
/// Teredo, IPv4-compatible) is judged as that client's, and raises what the IPv4 address would.
/// </summary>
public sealed class EmbeddedIpv4FlowTests
{
    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);
    private static readonly byte[] RelayMac = Mac("02:00:00:00:77:01");

    private static byte[] Udp6(byte[] srcMac, int[] vlans, string source, string destination) =>
        Ethernet(GlobexMac, srcMac, vlans, 0x86DD, Ipv6(source, destination, 17, Udp(5000, 6000, new byte[16])));

    public static TheoryData<string> GlobexForms() => new()
    {
        "::a14:15",
        "64:ff9b::a14:15",
        "64:ff9b:1:7::a14:15",
        "64:ff9b:1:7:a:1400:1500:0",
        "2002:a14:15::1",
        "2002:a0a:b:1:0:5efe:a14:15",
        "2001:0:cb00:7101:8000:f227:f5eb:ffea",
    };

    [Theory]
    [MemberData(nameof(GlobexForms))]
    public void AcmeToGlobexIpv4InIpv6Form_CrossClientFlowCritical(string destination)
    {
        var report = Analysis.Of([Udp6(AgentMac, [], "2001:db8:10::11", destination)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(IPAddress.Parse(destination).ToString(), finding.Evidence["dst"]);
    }

    [Fact]
    public void AcmeOnItsVlanToGlobexViaNat64_CrossClientFlowCritical()
    {
        var finding = Assert.Single(Analysis.Of([Udp6(AgentMac, [10], "2001:db8:10::11", "64:ff9b::a14:15")]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void SixToFourSourceOfAcmeRouterToGlobex_CrossClientFlowAndNoUnknownMac()
    {
        // A 6to4 packet on the wire as native IPv6 came through a relay: the relay's MAC is no station
        // of acme's, and acme's MAC list does not judge it.
        var report = Analysis.Of([Udp6(RelayMac, [], "2002:a0a:b::1", "2001:db8:20::21")]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void GlobexVlanCarriesSourceEmbeddingAcmeIpv4_VlanSubnetMismatchAndCrossClient()
    {
        var report = Analysis.Of([Udp6(GlobexMac, [20], "::a0a:b", "2001:db8:20::21")]);

        Assert.Equal(
            [RuleIds.CrossClientFlow, RuleIds.VlanSubnetMismatch],
            report.Findings.Select(f => f.Rule).Order(StringComparer.Ordinal));
        Assert.All(report.Findings, f => Assert.Equal(["acme", "globex"], f.Clients));
    }

    [Theory]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::1")]
    [InlineData("2001:0:cb00:7101:8000:f227:f7f7:f7f7")]
    [InlineData("64:ff9b::a0a:c")]
    [InlineData("2002:a0a:c::1")]
    [InlineData("::1")]
    [InlineData("2001:db8:77:1:0:5efe:a14:15")]
    [InlineData("2002:808:808:1:0:5efe:a14:15")]
    public void AcmeToEmbeddedFormOfNoOtherClient_NoFinding(string destination)
    {
        Assert.Empty(Analysis.Of([Udp6(AgentMac, [], "2001:db8:10::11", destination)]).Findings);
    }

    [Fact]
    public async Task PolicyGivesTheSixToFourPrefixToGlobex_GlobexTrafficToItIsNotCrossClient()
    {
        var frame = Udp6(GlobexMac, [20], "2001:db8:20::21", "2002:a0a:b::1");
        var policy = TestPolicy.Create();
        var globex = policy.Clients[1];
        var segment = globex.Segments[0] with { Subnets = [.. globex.Segments[0].Subnets, IPNetwork.Parse("2002:a0a:b::/48")] };
        policy = policy with { Clients = [policy.Clients[0], globex with { Segments = [segment] }] };
        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Empty(Analysis.Of([frame], index).Findings);

        // The same frame under the plain policy: the prefix embeds acme's 10.10.0.11.
        var finding = Assert.Single(Analysis.Of([frame]).Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    // acme's upstream is 192.0.2.10 (an IPv4 literal); these forms deliver to it.
    [Theory]
    [InlineData("64:ff9b::c000:20a")]
    [InlineData("2002:c000:20a::1")]
    [InlineData("::c000:20a")]
    public void AcmeToItsUpstreamInIpv6Form_ProxyBypass(string destination)
    {
        var findings = Analysis.Of([Udp6(AgentMac, [], "2001:db8:10::11", destination)]).Findings;

        // The datagram is no TLS either, as it would not be to 192.0.2.10 itself.
        Assert.Equal([RuleIds.CleartextToClient, RuleIds.ProxyBypass], findings.Select(f => f.Rule).Order(StringComparer.Ordinal));
        Assert.All(findings, f => Assert.Equal(["acme"], f.Clients));
    }

    [Fact]
    public void GlobexToAcmesUpstreamViaNat64_CrossClientFlow()
    {
        var findings = Analysis.Of([Udp6(GlobexMac, [20], "2001:db8:20::21", "64:ff9b::c000:20a")]).Findings;

        var finding = Assert.Single(findings, f => f.Rule == RuleIds.CrossClientFlow);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void ProxyToAcmesUpstreamViaNat64_NoBypass()
    {
        var findings = Analysis.Of([Udp6(AgentMac, [], "2001:db8:99::5", "64:ff9b::c000:20a")]).Findings;

        // The proxy's own traffic is no bypass; a datagram that is no TLS is still cleartext to the upstream.
        Assert.Equal([RuleIds.CleartextToClient], findings.Select(f => f.Rule));
    }
}
