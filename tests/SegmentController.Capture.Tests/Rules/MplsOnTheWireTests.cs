using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TunnelFrames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// MPLS-labelled frames on a segment's wire (EtherType 0x8847/0x8848): the IP packet under the label stack
/// is the frame's own packet, judged as if it were sent bare; an Ethernet pseudowire is not opened.
/// </summary>
public sealed class MplsOnTheWireTests
{
    private const string Acme = "10.10.0.11";
    private const string Globex = "10.20.0.21";

    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);

    private static byte[] Labelled(byte[] payload, int[] labels, ushort etherType = EtherTypeMpls) =>
        Ethernet(GatewayMac, AgentMac, [10], etherType, Mpls(labels, payload));

    [Theory]
    [InlineData(EtherTypeMpls, 1)]
    [InlineData(EtherTypeMpls, 4)]
    [InlineData((ushort)0x8848, 2)]
    public void LabelledAcmeToGlobexPacket_CrossClientFlowAsIfSentBare(ushort etherType, int labels)
    {
        var frame = Labelled(Ipv4(Acme, Globex, 6, Tcp(50100, 445, 0x02, [])), [.. Enumerable.Range(100, labels)], etherType);

        var report = Analysis.Of([frame]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(Acme, finding.Evidence["src"]);
        Assert.Equal(Globex, finding.Evidence["dst"]);
        Assert.Equal(445, finding.Evidence["dst_port"]);
        Assert.False(finding.Evidence.ContainsKey("tunnel"));
    }

    [Fact]
    public void LabelledIpv6Packet_DecodedUnderTheStack()
    {
        var frame = Labelled(Ipv6("2001:db8:10::11", "2001:db8:20::21", 17, Udp(5000, 6000, new byte[8])), [16, 17]);
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(NetworkLayer.Ipv6, decoded.Layer);
        Assert.Equal((ushort)6000, decoded.DestinationPort);
        Assert.Equal(18 + 8 + 40 + 8, decoded.PayloadOffset);
        Assert.Equal(Encapsulation.None, decoded.Tunnel);
    }

    [Fact]
    public void LabelledAcmeToAcmePacket_NothingRaised()
    {
        var report = Analysis.Of([Labelled(Ipv4(Acme, "10.10.0.12", 6, Tcp(50100, 445, 0x02, [])), [16])]);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void PseudowireOnTheWire_NotOpenedJudgedByItsTagsAndMacs()
    {
        // No address places the pseudowire's far end: the emulated frame could name no segment of the site.
        var emulated = Ethernet(Mac("02:00:00:aa:00:02"), Mac("02:00:00:aa:00:01"), [], 0x0800, Ipv4(Acme, Globex, 6, Tcp(50100, 445, 0x02, [])));
        var frame = Labelled([0, 0, 0, 7, .. emulated], [100]);
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));
        var report = Analysis.Of([frame]);

        Assert.Equal(NetworkLayer.Other, decoded.Layer);
        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void StackCutOrDeeperThanTheBound_DecodeErrorsNeverExceptions()
    {
        var packet = Ipv4(Acme, Globex, 6, Tcp(50100, 445, 0x02, []));
        var deep = Labelled(packet, [.. Enumerable.Range(16, FrameDecoder.MaxMplsLabels + 1)]);
        var atBound = Labelled(packet, [.. Enumerable.Range(16, FrameDecoder.MaxMplsLabels)]);
        var cut = Ethernet(GatewayMac, AgentMac, [10], EtherTypeMpls, Enumerable.Repeat<byte>(0, 10).ToArray());
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.MplsLabelStackTooDeep, FrameDecoder.Decode(deep, deep.Length, ref decoded));
        Assert.Equal(DecodeError.TruncatedMplsLabelStack, FrameDecoder.Decode(cut, cut.Length, ref decoded));
        Assert.Equal(DecodeError.None, FrameDecoder.Decode(atBound, atBound.Length, ref decoded));
        Assert.Equal(NetworkLayer.Ipv4, decoded.Layer);
    }

    [Fact]
    public void WarmLabelledTraffic_DecodeClassifyAndJudgeAllocateNothingPerFrame()
    {
        var frames = new[]
        {
            Labelled(Ipv4(Acme, Globex, 6, Tcp(50100, 445, 0x02, [])), [16, 17]),
            Labelled(Ipv4(Acme, "10.10.0.12", 17, Udp(5000, 6000, new byte[20])), [16]),
            Labelled(Ipv6("2001:db8:10::11", "2001:db8:20::21", 17, Udp(5000, 6000, new byte[8])), [16, 17, 18]),
        };
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "alloc");
        var ticks = Corpus.Start.Ticks;
        Analysis.Feed(analyzer, frames, ref ticks, passes: 10);

        var least = Analysis.LeastAllocated(analyzer, frames, ref ticks, attempts: 5);

        Assert.Equal(0, least);
        Assert.Equal(2, analyzer.AllFindings(DateTimeOffset.UnixEpoch).Count);
    }
}
