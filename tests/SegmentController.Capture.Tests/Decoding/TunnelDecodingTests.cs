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

    private static byte[] Syn6(string source, string destination) => Ipv6(source, destination, 6, Tcp(50100, 445, 0x02, []));

    [Theory]
    [InlineData(false, true, false, 8 + 4 + 2 + 2)]
    [InlineData(true, true, false, 8 + 4 + 4 + 2 + 2)]
    [InlineData(false, false, false, 8 + 4 + 2)]
    [InlineData(true, false, true, 8 + 4 + 4 + 1)]
    [InlineData(false, true, true, 8 + 4 + 2 + 1)]
    public void Pptp_AckAndCompressedPppFieldsSkippedInnerPacketAfterThem(bool acknowledged, bool addressControl, bool compressProtocol, int headerLength)
    {
        var frame = OnVlan10(47, Pptp(Ppp(PppIpv4, Syn("10.10.0.11", "10.20.0.21"), addressControl, compressProtocol), acknowledged: acknowledged));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.Pptp, outer.Tunnel);
        Assert.Equal(FrameDecoder.EtherTypeIpv4, outer.TunnelPayload);
        Assert.Equal(18 + 20 + headerLength, outer.TunnelOffset);
        Assert.Equal(NetworkLayer.Ipv4, inner.Layer);
        Assert.Equal(IpKey.From(System.Net.IPAddress.Parse("10.20.0.21")), inner.Destination);
        Assert.Equal((ushort)445, inner.DestinationPort);
        Assert.Equal(10, inner.InnerVlan);
        Assert.Equal(MacValue(AgentMac), inner.SourceMac);
        Assert.Equal((ushort)Encapsulation.Pptp, inner.TunnelPath);
    }

    [Fact]
    public void PptpCarryingIpv6_ProtocolCompressedToOneOctet()
    {
        var frame = OnVlan10(47, Pptp(Ppp(PppIpv6, Syn6("2001:db8:10::11", "2001:db8:20::21"), addressControl: false, compressProtocol: true)));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(FrameDecoder.EtherTypeIpv6, outer.TunnelPayload);
        Assert.Equal(NetworkLayer.Ipv6, inner.Layer);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Theory]
    [InlineData("ack-only")]
    [InlineData("lcp")]
    [InlineData("ccp")]
    [InlineData("mppe")]
    [InlineData("without-key")]
    [InlineData("with-checksum")]
    [InlineData("version-1-not-ppp")]
    public void PptpThatCarriesNoIpPacket_NotOpenedNoError(string shape)
    {
        var syn = Syn("10.10.0.11", "10.20.0.21");
        var gre = shape switch
        {
            // Data needs a sequence number (RFC 2637); without one the payload length is not taken on trust.
            "ack-only" => Pptp(Ppp(PppIpv4, syn), sequenced: false, acknowledged: true),
            "lcp" => Pptp(Ppp(PppLcp, [9, 1, 0, 8, 0, 0, 0, 0])),
            "ccp" => Pptp(Ppp(PppCcp, [1, 1, 0, 10, 0x12, 6, 0, 0, 0, 0x40])),
            "mppe" => Pptp(Ppp(PppCompressedDatagram, [0x90, 0x01, .. syn], addressControl: false, compressProtocol: true)),
            "without-key" => Gre(0x880B, Ppp(PppIpv4, syn), flags: 0x1001),
            "with-checksum" => Pptp(Ppp(PppIpv4, syn), extraFlags: 0x8000),
            _ => Pptp(syn, protocolType: 0x0800),
        };
        var frame = OnVlan10(47, gre);
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal(IpProtocols.Gre, decoded.Protocol);
    }

    [Theory]
    [InlineData(false, false, null, false, 6 + 2)]
    [InlineData(true, false, null, false, 8 + 2)]
    [InlineData(true, true, null, false, 12 + 2)]
    [InlineData(true, true, 3, true, 12 + 2 + 3 + 1)]
    [InlineData(false, false, 0, true, 6 + 2 + 1)]
    public void L2tpv2DataMessage_OptionalFieldsAndOffsetPaddingSkipped(bool withLength, bool sequenced, int? offsetPad, bool compressed, int headerLength)
    {
        var ppp = Ppp(PppIpv4, Syn("10.10.0.11", "10.20.0.21"), addressControl: !compressed, compressProtocol: compressed);
        var frame = OnVlan10(17, Udp(49152, 1701, L2tp(ppp, withLength, sequenced, offsetPad)));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.L2tp, outer.Tunnel);
        Assert.Equal(18 + 20 + 8 + headerLength + (compressed ? 0 : 2), outer.TunnelOffset);
        Assert.Equal(IpKey.From(System.Net.IPAddress.Parse("10.20.0.21")), inner.Destination);
        Assert.Equal((ushort)445, inner.DestinationPort);
        Assert.Equal((ushort)Encapsulation.L2tp, inner.TunnelPath);
    }

    [Fact]
    public void L2tpFromPort1701ToAnotherPort_OpenedAsTheReplyOfAnLnsIs()
    {
        var frame = OnVlan10(17, Udp(1701, 50000, L2tp(Ppp(PppIpv6, Syn6("2001:db8:10::11", "2001:db8:20::21")))));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.L2tp, outer.Tunnel);
        Assert.Equal(NetworkLayer.Ipv6, inner.Layer);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Theory]
    [InlineData("l2tpv2-control")]
    [InlineData("l2tpv2-zero-length-body")]
    [InlineData("l2tpv2-lcp")]
    [InlineData("l2f-version-1")]
    [InlineData("l2tpv3-control")]
    [InlineData("l2tpv3-with-cookie")]
    [InlineData("l2tpv3-carrying-non-ip")]
    public void L2tpThatCarriesNoIpPacket_NotOpenedNoError(string shape)
    {
        var syn = Syn("10.10.0.11", "10.20.0.21");
        var payload = shape switch
        {
            "l2tpv2-control" => L2tp([0x80, 8, 0, 0, 0, 0, 0, 1], withLength: true, sequenced: true, control: true),
            "l2tpv2-zero-length-body" => L2tp([], withLength: true, sequenced: true),
            "l2tpv2-lcp" => L2tp(Ppp(PppLcp, [1, 1, 0, 4, .. syn])),
            "l2f-version-1" => L2tp(Ppp(PppIpv4, syn), version: 1),
            "l2tpv3-control" => L2tpv3Udp(0, Ethernet(InnerMac, InnerMac, [], 0x0800, syn), control: true),
            "l2tpv3-with-cookie" => L2tpv3Udp(77, [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, .. Ethernet(InnerMac, InnerMac, [], 0x0800, syn)]),
            _ => L2tpv3Udp(77, Ethernet(InnerMac, InnerMac, [], 0x88CC, syn)),
        };
        var frame = OnVlan10(17, Udp(49152, 1701, payload));
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal((ushort)1701, decoded.DestinationPort);
    }

    [Theory]
    [InlineData(17, false, 8)]
    [InlineData(115, false, 4)]
    [InlineData(17, true, 8 + 4)]
    [InlineData(115, true, 4 + 4)]
    public void L2tpv3_EthernetAfterTheSessionIdOrDefaultSublayerItsMacsAndTagsWalked(int protocol, bool sublayer, int headerLength)
    {
        var bridged = Ethernet(InnerMac, InnerMac, [30], 0x0800, Syn("10.10.0.11", "10.20.0.21"));
        byte[] pseudowire = sublayer ? [0x40, 0x00, 0x01, 0x2C, .. bridged] : bridged;
        var frame = protocol == 17
            ? OnVlan10(17, Udp(49152, 1701, L2tpv3Udp(0x10203, pseudowire)))
            : OnVlan10(115, L2tpv3Ip(0x10203, pseudowire));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.L2tpv3, outer.Tunnel);
        Assert.Equal(FrameDecoder.EtherTypeBridging, outer.TunnelPayload);
        Assert.Equal(18 + 20 + (protocol == 17 ? 8 : 0) + headerLength, outer.TunnelOffset);
        Assert.Equal(MacValue(InnerMac), inner.SourceMac);
        Assert.Equal(10, inner.InnerVlan);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Theory]
    [InlineData(0xC0, 0x00, 0x00, 0x01)]
    [InlineData(0xDE, 0xAD, 0xBE, 0xEF)]
    public void L2tpv3SublayerWithReservedBitsSetOrFourByteCookie_FrameAfterItOpened(byte first, byte second, byte third, byte fourth)
    {
        // The receiving end ignores the sublayer's reserved bits, and a four-byte cookie has the sublayer's layout.
        var frame = OnVlan10(115, L2tpv3Ip(9, [first, second, third, fourth, .. Ethernet(InnerMac, InnerMac, [], 0x0800, Syn("10.10.0.11", "10.20.0.21"))]));

        var (outer, inner, error) = Open(frame);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(Encapsulation.L2tpv3, outer.Tunnel);
        Assert.Equal(18 + 20 + 4 + 4, outer.TunnelOffset);
        Assert.Equal(MacValue(InnerMac), inner.SourceMac);
        Assert.Equal((ushort)445, inner.DestinationPort);
    }

    [Theory]
    [InlineData("control-session-0")]
    [InlineData("cookie-of-four-and-sublayer")]
    [InlineData("cookie-of-eight")]
    [InlineData("group-source-mac")]
    [InlineData("ipv4-ethertype-ipv6-header")]
    [InlineData("four-tags")]
    [InlineData("frame-cut-short")]
    public void L2tpv3OverIpWhoseLayoutIsNotThePlainEthernetOne_NotOpenedNoError(string shape)
    {
        var syn = Syn("10.10.0.11", "10.20.0.21");
        var bridged = Ethernet(InnerMac, InnerMac, [], 0x0800, syn);
        var body = shape switch
        {
            "control-session-0" => L2tpv3Ip(0, bridged),
            "cookie-of-four-and-sublayer" => L2tpv3Ip(9, [0xDE, 0xAD, 0xBE, 0xEF, 0x40, 0x00, 0x00, 0x07, .. bridged]),
            "cookie-of-eight" => L2tpv3Ip(9, [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x00, 0x00, 0x07, .. bridged]),
            "group-source-mac" => L2tpv3Ip(9, Ethernet(InnerMac, Mac("03:00:00:aa:00:01"), [], 0x0800, syn)),
            "ipv4-ethertype-ipv6-header" => L2tpv3Ip(9, Ethernet(InnerMac, InnerMac, [], 0x0800, Syn6("2001:db8:10::11", "2001:db8:20::21"))),
            // Read past four bytes taken for a sublayer, a tag makes up the shift: three tags read as two.
            "four-tags" => L2tpv3Ip(9, Ethernet(InnerMac, InnerMac, [30, 40, 50, 60], 0x0800, syn)),
            _ => L2tpv3Ip(9, bridged.AsSpan(0, 14).ToArray()),
        };
        var frame = OnVlan10(115, body);
        var decoded = default(DecodedFrame);

        Assert.Equal(DecodeError.None, FrameDecoder.Decode(frame, frame.Length, ref decoded));

        Assert.Equal(Encapsulation.None, decoded.Tunnel);
        Assert.Equal(IpProtocols.L2tp, decoded.Protocol);
    }

    [Theory]
    [InlineData("pptp-header-cut", (int)DecodeError.TruncatedTunnelHeader)]
    [InlineData("pptp-header-declared-short", (int)DecodeError.BadTunnelHeader)]
    [InlineData("pptp-payload-length-past-packet", (int)DecodeError.BadTunnelHeader)]
    [InlineData("pptp-ppp-address-cut", (int)DecodeError.TruncatedPppHeader)]
    [InlineData("pptp-ppp-protocol-cut", (int)DecodeError.TruncatedPppHeader)]
    [InlineData("pptp-ppp-address-without-control", (int)DecodeError.BadPppHeader)]
    [InlineData("pptp-ppp-protocol-past-packet", (int)DecodeError.BadPppHeader)]
    [InlineData("l2tp-ppp-protocol-even", (int)DecodeError.BadPppHeader)]
    [InlineData("l2tp-header-cut", (int)DecodeError.TruncatedTunnelHeader)]
    [InlineData("l2tp-offset-past-datagram", (int)DecodeError.BadTunnelHeader)]
    [InlineData("l2tp-offset-padding-cut", (int)DecodeError.TruncatedTunnelHeader)]
    [InlineData("l2tpv3-ip-session-id-declared-short", (int)DecodeError.BadTunnelHeader)]
    [InlineData("l2tpv3-ip-session-id-cut", (int)DecodeError.TruncatedTunnelHeader)]
    public void MalformedPptpL2tpOrPppHeader_DecodeErrorOfItsKindAddressesKept(string shape, int expected)
    {
        var syn = Syn("10.10.0.11", "10.20.0.21");
        var frame = shape switch
        {
            "pptp-header-cut" => OnVlan10(47, Pptp(Ppp(PppIpv4, syn), acknowledged: true))[..(18 + 20 + 14)],
            "pptp-header-declared-short" => OnVlan10(47, Pptp([], acknowledged: true).AsSpan(0, 12).ToArray()),
            "pptp-payload-length-past-packet" => OnVlan10(47, Pptp(Ppp(PppIpv4, syn), payloadLength: 400)),
            "pptp-ppp-address-cut" => OnVlan10(47, Pptp(Ppp(PppIpv4, syn)))[..(18 + 20 + 12 + 1)],
            "pptp-ppp-protocol-cut" => OnVlan10(47, Pptp(Ppp(PppIpv4, syn)))[..(18 + 20 + 12 + 3)],
            "pptp-ppp-address-without-control" => OnVlan10(47, Pptp([0xFF, 0x05, 0x00, 0x21, .. syn])),
            "pptp-ppp-protocol-past-packet" => OnVlan10(47, Pptp([0xFF, 0x03, 0x00])),
            "l2tp-ppp-protocol-even" => OnVlan10(17, Udp(49152, 1701, L2tp([0xFF, 0x03, 0x00, 0x20, .. syn]))),
            "l2tp-header-cut" => OnVlan10(17, Udp(49152, 1701, L2tp(Ppp(PppIpv4, syn), withLength: true, sequenced: true, offsetPad: 0)))[..(18 + 20 + 8 + 10)],
            "l2tp-offset-past-datagram" => OnVlan10(17, Udp(49152, 1701, [.. L2tp(Ppp(PppIpv4, syn), offsetPad: 4).AsSpan(0, 6), 0x03, 0x84, .. L2tp(Ppp(PppIpv4, syn), offsetPad: 4).AsSpan(8)])),
            "l2tp-offset-padding-cut" => OnVlan10(17, Udp(49152, 1701, L2tp(Ppp(PppIpv4, syn), offsetPad: 40)))[..(18 + 20 + 8 + 8 + 20)],
            "l2tpv3-ip-session-id-declared-short" => OnVlan10(115, [0, 0, 7]),
            _ => OnVlan10(115, L2tpv3Ip(7, Ethernet(InnerMac, InnerMac, [], 0x0800, syn)))[..(18 + 20 + 2)],
        };
        var decoded = default(DecodedFrame);

        // Cut frames keep their wire length: the snap length cut them.
        var wire = shape.EndsWith("-cut", StringComparison.Ordinal) ? frame.Length + 200 : frame.Length;
        Assert.Equal((DecodeError)expected, FrameDecoder.Decode(frame, wire, ref decoded));
        Assert.True(decoded.HasAddresses);
        Assert.Equal(Encapsulation.None, decoded.Tunnel);
    }
}
