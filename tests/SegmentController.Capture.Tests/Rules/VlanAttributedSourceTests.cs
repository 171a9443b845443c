using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A frame on one client's VLAN whose source address no client's subnets hold (forged, link-local,
/// outside the address plan): its VLAN says which client's segment sent it. One-way traffic (UDP,
/// ICMP) needs no true source address to reach another client.
/// </summary>
public sealed class VlanAttributedSourceTests
{
    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] PeerMac = Mac(TestPolicy.GlobexAgentMac);

    private static byte[] Udp4(int vlan, string source, string destination, ushort port = 6000) =>
        Ethernet(PeerMac, AgentMac, vlan == 0 ? [] : [vlan], 0x0800, Ipv4(source, destination, 17, Udp(5000, port, new byte[16])));

    private static byte[] Udp6(int vlan, string source, string destination, ushort port = 6000) =>
        Ethernet(PeerMac, AgentMac, [vlan], 0x86DD, Ipv6(source, destination, 17, Udp(5000, port, new byte[16])));

    public static TheoryData<string> ForeignSources() => new() { "172.16.0.5", "10.99.0.7", "0.0.0.0" };

    [Theory]
    [MemberData(nameof(ForeignSources))]
    public void SourceNoClientHoldsOnAcmeVlanToGlobex_CrossClientFlowCritical(string source)
    {
        var report = Analysis.Of([Udp4(10, source, "10.20.0.21")]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(source, finding.Evidence["src"]);
        Assert.Equal("10.20.0.21", finding.Evidence["dst"]);
    }

    [Fact]
    public void LinkLocalSourceOnAcmeVlanToGlobexIpv6_CrossClientFlowCritical()
    {
        var finding = Assert.Single(Analysis.Of([Udp6(10, "fe80::1", "2001:db8:20::21")]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void ForgedSourceOnGlobexVlanToAcme_CrossClientFlowCritical()
    {
        var frame = Ethernet(AgentMac, PeerMac, [20], 0x0800, Ipv4("172.16.0.5", "10.10.0.11", 17, Udp(5000, 6000, new byte[16])));

        var finding = Assert.Single(Analysis.Of([frame]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void ForgedSourceOnAcmeVlanToAcmeUpstream_ProxyBypassOfAcmeAlone()
    {
        var syn = Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4("172.16.0.5", "192.0.2.10", 6, Tcp(50100, 443, 0x02, [])));

        var finding = Assert.Single(Analysis.Of([syn]).Findings);

        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
    }

    [Fact]
    public void ForgedSourceOnAcmeVlanToGlobexUpstream_CrossClientFlow()
    {
        var syn = Ethernet(PeerMac, AgentMac, [10], 0x86DD, Ipv6("2001:db8:ffff::99", "2001:db8:ffff::20", 6, Tcp(50100, 8443, 0x02, [])));

        var finding = Assert.Single(Analysis.Of([syn]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
    }

    [Fact]
    public void ProxyAddressOnAcmeVlanToGlobexUpstream_CrossClientFlow()
    {
        // The proxy sends from infrastructure: its address on acme's VLAN is an acme host writing it.
        var syn = Ethernet(PeerMac, AgentMac, [10], 0x86DD, Ipv6("2001:db8:99::5", "2001:db8:ffff::20", 6, Tcp(50100, 8443, 0x02, [])));

        var finding = Assert.Single(Analysis.Of([syn]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("2001:db8:99::5", finding.Evidence["src"]);
    }

    [Fact]
    public void ProxyAddressOnAcmeVlanToAcmeUpstream_ProxyBypassOfAcmeAlone()
    {
        var syn = Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(50100, 443, 0x02, [])));

        var finding = Assert.Single(Analysis.Of([syn]).Findings);

        Assert.Equal(RuleIds.ProxyBypass, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
    }

    [Fact]
    public void ProxyOnManagementVlanToUpstreams_NoFinding()
    {
        var proxy = Mac(TestPolicy.ProxyMac);
        var infra = Mac(TestPolicy.InfraMac);
        var frames = new[]
        {
            Ethernet(infra, proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40500, 443, 0x02, []))),
            Ethernet(infra, proxy, [99], 0x86DD, Ipv6("2001:db8:99::5", "2001:db8:ffff::20", 6, Tcp(40501, 8443, 0x02, []))),
            Ethernet(infra, proxy, [], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40502, 443, 0x02, []))),
        };

        Assert.Empty(Analysis.Of(frames).Findings);
    }

    [Fact]
    public void ForeignSourcesWhereNoClientIsCrossed_NoFinding()
    {
        var frames = new[]
        {
            // To its own client, on the management VLAN, and untagged (no VLAN to say who sent it).
            Udp4(10, "172.16.0.5", "10.10.0.12"),
            Ethernet(PeerMac, Mac(TestPolicy.InfraMac), [99], 0x0800, Ipv4("172.16.0.5", "10.20.0.21", 17, Udp(5000, 6000, new byte[16]))),
            Udp4(0, "172.16.0.5", "10.20.0.21"),
            Udp6(10, "fe80::1", "2001:db8:10::12"),
        };

        var report = Analysis.Of(frames);

        Assert.Empty(report.Findings);
    }
}
