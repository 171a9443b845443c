using System.Net;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A source-routed packet goes on from the node its header names to the hops its route lists: an IPv4 loose or
/// strict source route (a router honouring it — Cisco IOS by default, Linux with accept_source_route — rewrites
/// the destination and forwards), an IPv6 segment routing header or type 0 routing header. An acme host that
/// addresses the site's router and lists a globex host in the route reaches globex while the header names only
/// infrastructure.
/// </summary>
public sealed class SourceRouteTests
{
    private const string Router = "10.99.0.1";
    private const string Router6 = "2001:db8:99::1";

    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);

    /// <summary>An IPv4 source route option (131 loose, 137 strict) with its pointer at the first hop, padded with an end of list.</summary>
    private static byte[] Ipv4Route(byte type, string[] hops, int pointer = 4, int leadingNops = 0)
    {
        var length = 3 + (4 * hops.Length);
        var options = new byte[(leadingNops + length + 3) / 4 * 4];
        for (var i = 0; i < leadingNops; i++)
        {
            options[i] = 1;
        }

        options[leadingNops] = type;
        options[leadingNops + 1] = (byte)length;
        options[leadingNops + 2] = (byte)pointer;
        for (var i = 0; i < hops.Length; i++)
        {
            IPAddress.Parse(hops[i]).TryWriteBytes(options.AsSpan(leadingNops + 3 + (4 * i)), out _);
        }

        return options;
    }

    /// <summary>An IPv6 routing header body (after next header and length) of <paramref name="type"/>, its addresses as listed.</summary>
    private static byte[] Ipv6Route(byte type, byte segmentsLeft, string[] addresses)
    {
        var body = new byte[6 + (16 * addresses.Length)];
        body[0] = type;
        body[1] = segmentsLeft;
        if (type == 4)
        {
            // Last entry: the index of the segment list's last element.
            body[2] = (byte)(addresses.Length - 1);
        }

        for (var i = 0; i < addresses.Length; i++)
        {
            IPAddress.Parse(addresses[i]).TryWriteBytes(body.AsSpan(6 + (16 * i)), out _);
        }

        return body;
    }

    private static byte[] Udp4(string source, string destination, byte[]? options = null) =>
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4(source, destination, 17, Udp(5000, 6000, new byte[16]), options));

    private static byte[] Udp6(string source, string destination, (byte, byte[])[]? extensions = null) =>
        Ethernet(GatewayMac, AgentMac, [10], 0x86DD, Ipv6(source, destination, 17, Udp(5000, 6000, new byte[16]), extensions));

    public static TheoryData<string, byte[]> RoutesToGlobex() => new()
    {
        { "ipv4-loose-source-route", Udp4("10.10.0.11", Router, Ipv4Route(0x83, ["10.20.0.21"])) },
        { "ipv4-strict-source-route-second-hop", Udp4("10.10.0.11", Router, Ipv4Route(0x89, ["10.99.0.2", "10.20.0.21"], leadingNops: 1)) },
        { "ipv6-segment-routing-header", Udp6("2001:db8:10::11", Router6, [(43, Ipv6Route(4, 1, ["2001:db8:20::21", Router6]))]) },
        { "ipv6-type-0-routing-header", Udp6("2001:db8:10::11", Router6, [(0, new byte[6]), (43, Ipv6Route(0, 1, ["2001:db8:20::21"]))]) },
    };

    [Theory]
    [MemberData(nameof(RoutesToGlobex))]
    public void AcmeAddressesTheRouterWithAGlobexHostInItsRoute_CrossClientFlowCritical(string name, byte[] frame)
    {
        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(name.StartsWith("ipv4", StringComparison.Ordinal) ? "10.20.0.21" : "2001:db8:20::21", finding.Evidence["dst"]);
        Assert.Equal(name.StartsWith("ipv4", StringComparison.Ordinal) ? Router : Router6, finding.Evidence["routed_via"]);
        Assert.Equal(new[] { 10 }, finding.Evidence["vlans"]);
        Assert.Contains("source-routed via", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void SourceRouteToGlobexUpstream_CrossClientFlow()
    {
        var frame = Udp6("2001:db8:10::11", Router6, [(43, Ipv6Route(4, 1, ["2001:db8:ffff::20", Router6]))]);

        var finding = Assert.Single(Analysis.Of([frame]).Findings, f => f.Rule == RuleIds.CrossClientFlow);

        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("2001:db8:ffff::20", finding.Evidence["dst"]);
    }

    [Fact]
    public void SameAddressesFirstWithoutThenWithARoute_TheRoutedPacketStillJudged()
    {
        var report = Analysis.Of([Udp4("10.10.0.11", Router), Udp4("10.10.0.11", Router, Ipv4Route(0x83, ["10.20.0.21"]))]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(1L, finding.Evidence["packets"]);
    }

    [Fact]
    public void RoutesThatReachNoOtherClient_NoFinding()
    {
        var frames = new[]
        {
            // A hop of its own client, a route already followed to its end (pointer past the last hop), segments left 0.
            Udp4("10.10.0.11", Router, Ipv4Route(0x83, ["10.10.0.12"])),
            Udp4("10.10.0.11", "10.10.0.12", Ipv4Route(0x83, ["10.20.0.21"], pointer: 8)),
            Udp6("2001:db8:10::11", "2001:db8:10::12", [(43, Ipv6Route(4, 0, ["2001:db8:10::12", "2001:db8:20::21"]))]),
            Udp6("2001:db8:10::11", Router6, [(43, Ipv6Route(4, 1, ["2001:db8:10::12", Router6]))]),

            // Routes no receiver follows: a pointer below the first hop, more segments left than listed.
            Udp4("10.10.0.11", Router, Ipv4Route(0x83, ["10.20.0.21"], pointer: 3)),
            Udp6("2001:db8:10::11", Router6, [(43, Ipv6Route(4, 3, ["2001:db8:20::21", Router6]))]),
            Udp6("2001:db8:10::11", Router6, [(43, Ipv6Route(0, 2, ["2001:db8:20::21"]))]),
        };

        var report = Analysis.Of(frames);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }
}
