using SegmentController.Capture.Decoding;
using SegmentController.Capture.Tests.Support;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TunnelFrames;

namespace SegmentController.Capture.Tests.Decoding;

public sealed class TunnelDecodingTests
{
    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);
    private static readonly byte[] InnerMac = Mac("02:00:00:aa:00:01");

    private static byte[] Syn(string source, string destination) => Ipv4(source, destination, 6, Tcp(50100, 445, 0x02, []));

    private static byte[] OnVlan10(byte protocol, byte[] payload) =>
        Ethernet(GatewayMac, AgentMac, [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.50", protocol, payload));

    private static (DecodedFrame Outer, DecodedFrame Inner, DecodeError Error) Open(byte[] frame)
    {
        var outer = default(DecodedFrame);
        var inner = default(DecodedFrame);
        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref outer));
        var error = FrameDecoder.DecodeEncapsulated(frame, in outer, ref inner);
        return (outer, inner, error);
    }

    private static ulong MacValue(byte[] mac) => mac.Aggregate(0UL, (value, b) => (value << 8) | b);

    [Theory]
    [InlineData((ushort)0x0000, 4)]
    [InlineData((ushort)0x2000, 8)]
    [InlineData((ushort)0xB000, 16)]
    public void GreWithOptionalFields_InnerStartsAfterThemAndKeepsTheCarriersVlanAndMacs(ushort flags, int headerLength)
    {
        var frame = OnVlan10(47, Gre(EtherTypeIpv4, Syn("10.10.0.11", "10.20.0.21"), flags));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.Gre, outer.Tunnel);
        Assert.Equal(18 + 20 + headerLength, outer.TunnelOffset);
        Assert.Equal(NetworkLayer.Ipv4, inner.Layer);
        Assert.Equal(IpKey.From(System.Net.IPAddress.Parse("10.20.0.21")), inner.Destination);
        Assert.Equal((ushort)445, inner.DestinationPort);
        Assert.Equal(10, inner.InnerVlan);
        Assert.Equal(1, inner.VlanCount);
        Assert.Equal(MacValue(AgentMac), inner.SourceMac);
        Assert.Equal((ushort)Encapsulation.Gre, inner.TunnelPath);
        Assert.Equal(outer.Source, inner.TunnelSource);
        Assert.Equal(outer.Destination, inner.TunnelDestination);
        Assert.Equal(Encapsulation.None, inner.Tunnel);
    }

    [Fact]
    public void VxlanCarryingTaggedFrame_InnerMacsAreTheInnerFramesItsTagsAreWalkedPast()
    {
        var bridged = Ethernet(InnerMac, InnerMac, [30, 40], 0x0800, Syn("10.10.0.11", "10.20.0.21"));
        var frame = OnVlan10(17, Udp(49152, 4789, Vxlan(5010, bridged)));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.Vxlan, outer.Tunnel);
        Assert.Equal(FrameDecoder.EtherTypeBridging, outer.TunnelPayload);
        Assert.Equal(MacValue(InnerMac), inner.SourceMac);
        Assert.Equal([10], ((ReadOnlySpan<ushort>)inner.Vlans)[..inner.VlanCount].ToArray());
        Assert.True(inner.HasTransport);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Fact]
    public void GeneveWithOptions_InnerStartsAfterTheOptions()
    {
        var frame = OnVlan10(17, Udp(49152, 6081, Geneve(5010, EtherTypeIpv4, Syn("10.10.0.11", "10.20.0.21"), optionWords: 5)));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.Geneve, outer.Tunnel);
        Assert.Equal(18 + 20 + 8 + 8 + 20, outer.TunnelOffset);
        Assert.Equal(NetworkLayer.Ipv4, inner.Layer);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Fact]
    public void TunnelInTunnel_PathHoldsBothOuterFirstEndpointsStayTheOutermost()
    {
        var ipip = Ipv4("10.10.0.12", "10.99.0.51", 4, Syn("10.10.0.11", "10.20.0.21"));
        var frame = OnVlan10(47, Gre(EtherTypeIpv4, ipip));

        var (outer, middle, error) = Open(frame);
        var inner = default(DecodedFrame);
        var innerError = FrameDecoder.DecodeEncapsulated(frame, in middle, ref inner);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.IpInIp, middle.Tunnel);
        Assert.Equal(DecodeError.None, innerError);
        Assert.Equal(((int)Encapsulation.Gre << 4) | (int)Encapsulation.IpInIp, inner.TunnelPath);
        Assert.Equal(outer.Source, inner.TunnelSource);
        Assert.Equal(outer.Destination, inner.TunnelDestination);
        Assert.Equal(IpKey.From(System.Net.IPAddress.Parse("10.20.0.21")), inner.Destination);
    }

    [Fact]
    public void FrameThatIsNoTunnel_DecodesAsBeforeWithNoTunnel()
    {
        var frame = OnVlan10(17, Udp(49152, 4790, Vxlan(1, Ethernet(InnerMac, InnerMac, [], 0x0800, Syn("10.10.0.11", "10.20.0.21")))));
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal((ushort)4790, decoded.DestinationPort);
    }

    private static byte[] FromSwitch(byte[] erspan) =>
        Ethernet(GatewayMac, AgentMac, [99], 0x0800, Ipv4("10.99.0.2", "10.99.0.60", 47, erspan));

    [Theory]
    [InlineData(1, 4 + 4 + 8)]
    [InlineData(2, 4 + 4 + 12)]
    [InlineData(3, 4 + 4 + 12 + 8)]
    [InlineData(0, 4)]
    public void Erspan_HeaderReadAndMirroredFrameDecodedAsOnTheWireOnTheHeadersVlan(int type, int headerLength)
    {
        var mirrored = Ethernet(GatewayMac, InnerMac, [], 0x0800, Syn("10.10.0.11", "10.20.0.21"));
        var erspan = type switch
        {
            0 => ErspanI(mirrored),
            1 => ErspanII(300, 10, mirrored, truncated: true),
            2 => ErspanIii(300, 10, mirrored),
            _ => ErspanIii(300, 10, mirrored, platform: true),
        };
        var frame = FromSwitch(erspan);

        var outer = default(DecodedFrame);
        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref outer));
        var bytes = FrameDecoder.TunnelPayload(frame, in outer, out var start);
        var inner = default(DecodedFrame);
        var error = FrameDecoder.DecodeMirrored(bytes, in outer, ref inner);

        Assert.Equal(Encapsulation.Erspan, outer.Tunnel);
        Assert.Equal(18 + 20 + headerLength, start);
        Assert.Equal(mirrored, bytes.ToArray());
        Assert.Equal(type == 0 ? 0 : 300, outer.ErspanSession);
        Assert.Equal(type == 1, outer.ErspanTruncated);
        Assert.Equal(DecodeError.None, error);
        Assert.True(inner.Mirrored);
        Assert.Equal(outer.Source, inner.MirrorSource);
        Assert.Equal(outer.ErspanSession, inner.MirrorSession);
        Assert.Equal(MacValue(InnerMac), inner.SourceMac);
        Assert.Equal(type == 0 ? [] : new ushort[] { 10 }, ((ReadOnlySpan<ushort>)inner.Vlans)[..inner.VlanCount].ToArray());
        Assert.Equal(0, inner.TunnelPath);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Fact]
    public void MirroredFrameWithItsOwnTag_KeepsItsTagOverTheHeadersVlan()
    {
        var mirrored = Ethernet(GatewayMac, InnerMac, [20], 0x0800, Syn("10.10.0.11", "10.20.0.21"));
        var frame = FromSwitch(ErspanII(1, 10, mirrored, encapsulation: 3));

        var outer = default(DecodedFrame);
        FrameDecoder.Decode(frame, frame.Length, ref outer);
        var inner = default(DecodedFrame);
        FrameDecoder.DecodeMirrored(FrameDecoder.TunnelPayload(frame, in outer, out _), in outer, ref inner);

        Assert.Equal(1, inner.VlanCount);
        Assert.Equal(20, inner.InnerVlan);
    }

    [Fact]
    public void ErspanIiiOfAnotherFrameType_NotOpened()
    {
        var frame = FromSwitch(ErspanIii(1, 10, Syn("10.10.0.11", "10.20.0.21"), frameType: 2));
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal(IpProtocols.Gre, decoded.Protocol);
    }

    [Theory]
    [InlineData("type-ii-version-2", (int)DecodeError.BadTunnelHeader)]
    [InlineData("type-iii-version-1", (int)DecodeError.BadTunnelHeader)]
    [InlineData("type-ii-cut", (int)DecodeError.TruncatedTunnelHeader)]
    [InlineData("type-iii-subheader-cut", (int)DecodeError.TruncatedTunnelHeader)]
    [InlineData("type-ii-declared-short", (int)DecodeError.BadTunnelHeader)]
    [InlineData("type-iii-subheader-declared-short", (int)DecodeError.BadTunnelHeader)]
    public void MalformedErspanHeader_DecodeErrorOfItsKind(string shape, int expected)
    {
        var mirrored = Ethernet(GatewayMac, InnerMac, [], 0x0800, Syn("10.10.0.11", "10.20.0.21"));
        var frame = shape switch
        {
            "type-ii-version-2" => FromSwitch(ErspanII(1, 0, mirrored, version: 2)),
            "type-iii-version-1" => FromSwitch(ErspanIii(1, 0, mirrored, version: 1)),
            "type-ii-cut" => FromSwitch(ErspanII(1, 0, mirrored))[..(18 + 20 + 8 + 6)],
            "type-iii-subheader-cut" => FromSwitch(ErspanIii(1, 0, mirrored, platform: true))[..(18 + 20 + 8 + 16)],
            "type-ii-declared-short" => Ethernet(GatewayMac, AgentMac, [99], 0x0800, Ipv4("10.99.0.2", "10.99.0.60", 47, ErspanII(1, 0, []).AsSpan(0, 14))),
            _ => Ethernet(GatewayMac, AgentMac, [99], 0x0800, Ipv4("10.99.0.2", "10.99.0.60", 47, ErspanIii(1, 0, [], platform: true).AsSpan(0, 22))),
        };
        var decoded = default(DecodedFrame);

        // Cut frames keep their wire length: the snap length cut them.
        var wire = shape.EndsWith("-cut", StringComparison.Ordinal) ? frame.Length + 200 : frame.Length;
        Assert.Equal((DecodeError)expected, FrameDecoder.Decode(frame, wire, ref decoded));
        Assert.True(decoded.HasAddresses);
    }

    [Theory]
    [InlineData(1, 0x0800)]
    [InlineData(2, 0x86DD)]
    [InlineData(3, 0x6558)]
    public void VxlanGpe_NextProtocolSaysWhatIsCarried(byte nextProtocol, int payload)
    {
        var packet = nextProtocol switch
        {
            1 => Syn("10.10.0.11", "10.20.0.21"),
            2 => Ipv6("2001:db8:10::11", "2001:db8:20::21", 6, Tcp(50100, 445, 0x02, [])),
            _ => Ethernet(InnerMac, InnerMac, [], 0x0800, Syn("10.10.0.11", "10.20.0.21")),
        };
        var frame = OnVlan10(17, Udp(49152, 4790, VxlanGpe(5010, nextProtocol, packet)));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.VxlanGpe, outer.Tunnel);
        Assert.Equal(payload, outer.TunnelPayload);
        Assert.Equal(18 + 20 + 8 + 8, outer.TunnelOffset);
        Assert.Equal((ushort)445, inner.DestinationPort);
        Assert.Equal((ushort)Encapsulation.VxlanGpe, inner.TunnelPath);
    }

    [Fact]
    public void GreInUdp_GreHeaderAfterTheUdpHeader()
    {
        var frame = OnVlan10(17, Udp(49152, 4754, Gre(EtherTypeIpv4, Syn("10.10.0.11", "10.20.0.21"), flags: 0x2000)));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.GreInUdp, outer.Tunnel);
        Assert.Equal(18 + 20 + 8 + 8, outer.TunnelOffset);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Fact]
    public void MplsInUdp_LabelStackWalkedToTheInnerPacket()
    {
        var frame = OnVlan10(17, Udp(49152, 6635, Mpls([16, 17], Syn("10.10.0.11", "10.20.0.21"))));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.MplsInUdp, outer.Tunnel);
        Assert.Equal(18 + 20 + 8, outer.TunnelOffset);
        Assert.Equal(NetworkLayer.Ipv4, inner.Layer);
        Assert.Equal(IpKey.From(System.Net.IPAddress.Parse("10.20.0.21")), inner.Destination);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Fact]
    public void PseudowireInGre_ControlWordSkippedEmulatedFramesMacs()
    {
        var emulated = Ethernet(InnerMac, InnerMac, [30], 0x0800, Syn("10.10.0.11", "10.20.0.21"));
        var frame = OnVlan10(47, Gre(EtherTypeMpls, Mpls([100], [0, 0, 0, 9, .. emulated])));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.Gre, outer.Tunnel);
        Assert.Equal(MacValue(InnerMac), inner.SourceMac);
        Assert.Equal(10, inner.InnerVlan);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(0x7F)]
    public void VxlanGpeCarryingNshOrAnUnknownProtocol_NotOpened(byte nextProtocol)
    {
        var frame = OnVlan10(17, Udp(49152, 4790, VxlanGpe(5010, nextProtocol, Syn("10.10.0.11", "10.20.0.21"))));
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal((ushort)4790, decoded.DestinationPort);
    }
}
