using SegmentController.Capture.Evidence;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// Packets from one client to another whose addresses are readable but whose later parts do not decode:
/// each is a decode error and still a cross-client flow. Two hosts with raw sockets exchange such packets
/// freely, and some (a long IPv6 extension chain, an option that pushes the transport past the snap
/// length) reach an ordinary socket on Linux.
/// </summary>
public sealed class PartlyDecodedPacketTests
{
    private const string Acme = "10.10.0.11";
    private const string Globex = "10.20.0.21";
    private const string Acme6 = "2001:db8:10::11";
    private const string Globex6 = "2001:db8:20::21";
    private const int SnapLength = 256;

    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] PeerMac = Mac(TestPolicy.GlobexAgentMac);

    private static readonly Dictionary<string, Func<EvidenceFrame>> Cases = new(StringComparer.Ordinal)
    {
        // Linux follows any number of extension headers; the decoder follows eight.
        ["ipv6-nine-destination-options"] = () => Whole(Ethernet(PeerMac, AgentMac, [10], 0x86DD, Ipv6(
            Acme6, Globex6, 17, Udp(5000, 6000, new byte[32]), Enumerable.Repeat(((byte)60, new byte[] { 1, 4, 0, 0, 0, 0 }), 9).ToArray()))),

        // One option an ordinary receiver skips (type 0x1e) puts the TCP header past the snap length.
        ["ipv6-option-past-snap-length"] = () =>
        {
            var option = new byte[232];
            option[0] = 0x1E;
            option[1] = 230;
            var frame = Ethernet(PeerMac, AgentMac, [10], 0x86DD, Ipv6(Acme6, Globex6, 6, Tcp(50100, 445, 0x02, []), [(60, option)]));
            return new EvidenceFrame(Corpus.Start.Ticks, frame.Length, frame[..SnapLength]);
        },
        ["ipv6-payload-length-beyond-frame"] = () => Whole(Ethernet(PeerMac, AgentMac, [10], 0x86DD, Ipv6(
            Acme6, Globex6, 17, Udp(5000, 6000, new byte[8]), payloadLengthOverride: 500))),
        ["ipv4-first-fragment-of-eight-tcp-bytes"] = () => Whole(Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(
            Acme, Globex, 6, Tcp(50100, 445, 0x02, []).AsSpan(0, 8), flagsFragment: 0x2000))),
        ["ipv4-header-length-below-five-words"] = () =>
        {
            var packet = Ipv4(Acme, Globex, 17, Udp(5000, 6000, new byte[8]));
            packet[0] = 0x44;
            return Whole(Ethernet(PeerMac, AgentMac, [10], 0x0800, packet));
        },
        ["ipv4-total-length-beyond-frame"] = () => Whole(Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(
            Acme, Globex, 17, Udp(5000, 6000, new byte[8]), totalLengthOverride: 200))),
        ["udp-length-beyond-packet"] = () => Whole(Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(
            Acme, Globex, 17, Udp(5000, 6000, new byte[8], lengthOverride: 100)))),
        ["tcp-data-offset-below-five-words"] = () =>
        {
            var segment = Tcp(50100, 445, 0x02, []);
            segment[12] = 0x20;
            return Whole(Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(Acme, Globex, 6, segment)));
        },
        ["icmp-shorter-than-its-header"] = () => Whole(Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(Acme, Globex, 1, [8, 0]))),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void PacketBetweenClientsThatDoesNotDecodePastItsAddresses_DecodeErrorAndCrossClientFlow(string name)
    {
        var report = Analysis.OfFrames([Cases[name]()]);

        Assert.Equal(1, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(new[] { 10 }, finding.Evidence["vlans"]);
        Assert.Equal(0, finding.Evidence["src_port"]);
        Assert.Equal(0, finding.Evidence["dst_port"]);
    }

    [Fact]
    public void TinyFirstFragmentThenTheRest_OneFlowWithBothPackets()
    {
        var tcp = Tcp(50100, 445, 0x02, new byte[16]);
        var frames = new[]
        {
            Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(Acme, Globex, 6, tcp.AsSpan(0, 8), flagsFragment: 0x2000)),
            Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(Acme, Globex, 6, tcp.AsSpan(8), flagsFragment: 0x0001)),
        };

        var report = Analysis.Of(frames);

        Assert.Equal(1, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("tcp", finding.Evidence["protocol"]);
        Assert.Equal(2L, finding.Evidence["packets"]);
    }

    [Fact]
    public void MalformedPacketWithinOneClient_DecodeErrorNoFinding()
    {
        var frame = Ethernet(PeerMac, AgentMac, [10], 0x0800, Ipv4(Acme, "10.10.0.12", 17, Udp(5000, 6000, new byte[8], lengthOverride: 100)));

        var report = Analysis.Of([frame]);

        Assert.Equal(1, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    private static EvidenceFrame Whole(byte[] frame) => new(Corpus.Start.Ticks, frame.Length, frame);
}
