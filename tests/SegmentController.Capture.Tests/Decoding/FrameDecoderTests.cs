using System.Net;
using PacketDotNet;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Tests.Support;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Decoding;

public sealed class FrameDecoderTests
{
    private static DecodedFrame Decode(byte[] frame, out DecodeError error, int? wireLength = null)
    {
        var result = default(DecodedFrame);
        error = FrameDecoder.Decode(frame, wireLength ?? frame.Length, ref result);
        return result;
    }

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 40));

    /// <summary>PacketDotNet builds and parses the same frame; our decoder must agree with it field by field.</summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomPacketDotNetFrames_DecoderAgreesWithPacketDotNet(int seed)
    {
        var random = new Random(seed);
        var v6 = random.Next(2) == 0;
        var src = RandomAddress(random, v6);
        var dst = RandomAddress(random, v6);
        Packet transport = random.Next(3) switch
        {
            0 => new TcpPacket((ushort)random.Next(1, 65536), (ushort)random.Next(1, 65536)) { PayloadData = RandomBytes(random, random.Next(0, 200)), Flags = (byte)random.Next(256) },
            1 => new UdpPacket((ushort)random.Next(1, 65536), (ushort)random.Next(1, 65536)) { PayloadData = RandomBytes(random, random.Next(0, 200)) },
            _ => v6
                ? new IcmpV6Packet(new PacketDotNet.Utils.ByteArraySegment(new byte[] { (byte)random.Next(256), (byte)random.Next(256), 0, 0, 1, 2, 3, 4 }))
                : new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(new byte[] { (byte)random.Next(256), (byte)random.Next(256), 0, 0, 1, 2, 3, 4 })),
        };
        IPPacket ip = v6 ? new IPv6Packet(src, dst) : new IPv4Packet(src, dst);
        ip.PayloadPacket = transport;
        ip.UpdateCalculatedValues();
        if (transport is UdpPacket udp)
        {
            udp.UpdateCalculatedValues();
        }

        var ethernet = new EthernetPacket(RandomMac(random), RandomMac(random), EthernetType.None) { PayloadPacket = ip };
        ethernet.Type = v6 ? EthernetType.IPv6 : EthernetType.IPv4;
        var bytes = ethernet.Bytes;

        var decoded = Decode(bytes, out var error);
        var oracle = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, bytes);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(PolicyMac(oracle.SourceHardwareAddress.GetAddressBytes()), decoded.SourceMac);
        Assert.Equal(PolicyMac(oracle.DestinationHardwareAddress.GetAddressBytes()), decoded.DestinationMac);
        var oracleIp = oracle.Extract<IPPacket>();
        Assert.Equal(oracleIp.SourceAddress, decoded.Source.ToIPAddress());
        Assert.Equal(oracleIp.DestinationAddress, decoded.Destination.ToIPAddress());
        Assert.Equal((byte)oracleIp.Protocol, decoded.Protocol);
        switch (oracleIp.PayloadPacket)
        {
            case TcpPacket tcp:
                Assert.Equal(tcp.SourcePort, decoded.SourcePort);
                Assert.Equal(tcp.DestinationPort, decoded.DestinationPort);
                Assert.Equal((byte)tcp.Flags, decoded.TcpFlags);
                Assert.Equal(tcp.PayloadData?.Length ?? 0, decoded.PayloadLength);
                break;
            case UdpPacket u:
                Assert.Equal(u.SourcePort, decoded.SourcePort);
                Assert.Equal(u.DestinationPort, decoded.DestinationPort);
                Assert.Equal(u.PayloadData?.Length ?? 0, decoded.PayloadLength);
                break;
            case IcmpV4Packet icmp:
                Assert.Equal((byte)((ushort)icmp.TypeCode >> 8), decoded.IcmpType);
                break;
            case IcmpV6Packet icmp6:
                Assert.Equal((byte)icmp6.Type, decoded.IcmpType);
                break;
        }
    }

    [Fact]
    public void TaggedFrame_VlanIdAndAddressesMatchPacketDotNet()
    {
        var bytes = Ethernet(Broadcast, Mac("02:00:00:00:10:01"), [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.53", 17, Udp(5353, 53, new byte[12])));

        var decoded = Decode(bytes, out var error);
        var parsed = Packet.ParsePacket(LinkLayers.Ethernet, bytes);
        var oracle = parsed.Extract<Ieee8021QPacket>();
        var oracleIp = parsed.Extract<IPv4Packet>();

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(1, decoded.VlanCount);
        Assert.Equal(oracle.VlanIdentifier, decoded.InnerVlan);
        Assert.Equal(oracleIp.DestinationAddress, decoded.Destination.ToIPAddress());
        Assert.Equal(parsed.Extract<UdpPacket>().DestinationPort, decoded.DestinationPort);
    }

    [Fact]
    public void ArpReply_SenderAndTargetDecoded()
    {
        var gateway = Mac("00:00:5e:00:01:0a");
        var frame = Ethernet(Broadcast, gateway, [10], 0x0806, Arp(2, gateway, "10.10.0.1", Broadcast, "10.10.0.11"));

        var decoded = Decode(frame, out var error);
        var oracle = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<ArpPacket>();

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(NetworkLayer.Arp, decoded.Layer);
        Assert.Equal((ushort)oracle.Operation, decoded.ArpOperation);
        Assert.Equal(oracle.SenderProtocolAddress, decoded.Source.ToIPAddress());
        Assert.Equal(oracle.TargetProtocolAddress, decoded.Destination.ToIPAddress());
        Assert.Equal(PolicyMac(gateway), decoded.ArpSenderMac);
    }

    [Fact]
    public void QinQStackWithAllThreeTpids_AllTagsOuterToInner()
    {
        var frame = Ethernet(Broadcast, Broadcast, [100, 200, 10], 0x0800, Ipv4("10.10.0.11", "10.99.0.53", 17, Udp(1, 53, [])), tpids: [0x88A8, 0x9100, 0x8100]);

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(3, decoded.VlanCount);
        Assert.Equal(100, decoded.OuterVlan);
        Assert.Equal(10, decoded.InnerVlan);
        Assert.Equal(53, decoded.DestinationPort);
    }

    [Fact]
    public void PriorityTagVid0_CountsAsUntagged()
    {
        var frame = Ethernet(Broadcast, Broadcast, [0x2000], 0x0800, Ipv4("10.10.0.11", "10.99.0.53", 17, Udp(1, 53, [])));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(0, decoded.VlanCount);
        Assert.Equal(0, decoded.InnerVlan);
        Assert.True(decoded.HasTransport);
    }

    [Fact]
    public void Ipv4Options_TransportFoundAfterOptions()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 6, Tcp(1234, 80, 0x18, "x"u8), options: [1, 1, 1, 1, 1, 1, 1, 0]));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(80, decoded.DestinationPort);
        Assert.Equal(1, decoded.PayloadLength);
    }

    [Fact]
    public void Ipv4LaterFragment_AddressesButNoTransport()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 6, new byte[40], flagsFragment: 0x00B9));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.True(decoded.IsFragment);
        Assert.False(decoded.HasTransport);
        Assert.Equal(IPAddress.Parse("10.20.0.21"), decoded.Destination.ToIPAddress());
    }

    [Fact]
    public void Ipv4FirstFragment_TransportParsed()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1000, 2000, new byte[20], lengthOverride: 8), flagsFragment: 0x2000));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.True(decoded.IsFragment);
        Assert.True(decoded.HasTransport);
        Assert.Equal(2000, decoded.DestinationPort);
    }

    [Fact]
    public void Ipv6ExtensionChain_TransportAfterHopByHopRoutingAndDestinationOptions()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::11", "2001:db8:20::21", 6, Tcp(1234, 443, 0x02, []),
            [(0, new byte[4]), (43, new byte[10]), (60, new byte[20])]));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(6, decoded.Protocol);
        Assert.Equal(443, decoded.DestinationPort);
    }

    [Fact]
    public void Ipv6LaterFragment_NoTransport()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::11", "2001:db8:20::21", 17, new byte[16],
            [(44, new byte[] { 0x01, 0x00, 0, 0, 0, 1 })]));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.True(decoded.IsFragment);
        Assert.False(decoded.HasTransport);
        Assert.Equal(17, decoded.Protocol);
    }

    [Fact]
    public void ClientHello_SniAndHighestSupportedVersion()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "192.0.2.10", 6, Tcp(1234, 443, 0x18, ClientHello(0x0303, "crm.acme.example", [0x0a0a, 0x0304, 0x0303]))));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(TlsHandshake.ClientHello, decoded.Tls);
        Assert.True(decoded.LooksLikeTls);
        Assert.Equal(0x0303, decoded.TlsLegacyVersion);
        Assert.Equal(TlsParser.Tls13, decoded.TlsVersion);
        Assert.Equal("crm.acme.example", System.Text.Encoding.ASCII.GetString(frame, decoded.SniOffset, decoded.SniLength));
    }

    [Theory]
    [InlineData(0x0303, 0x0304, 0x0304)]
    [InlineData(0x0303, null, 0x0303)]
    [InlineData(0x0301, null, 0x0301)]
    [InlineData(0x0300, null, 0x0300)]
    public void ServerHello_NegotiatedVersionPrefersSupportedVersions(int legacy, int? supported, int expected)
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("192.0.2.10", "10.99.0.5", 6, Tcp(443, 1234, 0x18, ServerHello((ushort)legacy, (ushort?)supported))));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(TlsHandshake.ServerHello, decoded.Tls);
        Assert.Equal(expected, decoded.TlsVersion);
    }

    [Fact]
    public void PlainHttp_NotTls()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(1234, 80, 0x18, "GET / HTTP/1.1\r\n\r\n"u8)));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.False(decoded.LooksLikeTls);
        Assert.Equal(TlsHandshake.None, decoded.Tls);
    }

    [Fact]
    public void SnapLengthCutsPayload_NotAnError()
    {
        var full = Ethernet(Broadcast, Broadcast, [10], 0x0800, Ipv4("10.10.0.11", "10.99.0.5", 6, Tcp(1234, 8443, 0x18, ClientHello(0x0303, "crm.acme.example", [0x0304]))));

        var decoded = Decode(full[..70], out var error, wireLength: full.Length);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(8443, decoded.DestinationPort);
    }

    [Fact]
    public void Ipv6FirstFragment_TransportParsed()
    {
        // Fragment header: offset 0, more fragments set — the first fragment carries the transport header.
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::11", "2001:db8:20::21", 6, Tcp(1234, 445, 0x18, new byte[64]),
            [(44, new byte[] { 0x00, 0x01, 0xAB, 0xCD, 0x00, 0x07 })]));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.True(decoded.IsFragment);
        Assert.True(decoded.HasTransport);
        Assert.Equal(6, decoded.Protocol);
        Assert.Equal(1234, decoded.SourcePort);
        Assert.Equal(445, decoded.DestinationPort);
        Assert.Equal(64, decoded.PayloadLength);
    }

    [Fact]
    public void Ipv6AuthenticationHeader_LengthInFourOctetUnitsTransportAfterIt()
    {
        // AH: next header, payload length = (24 bytes / 4) - 2, reserved, SPI, sequence, 12-byte ICV.
        byte[] ah = [6, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 42, .. new byte[12]];
        var tcp = Tcp(40000, 443, 0x18, ClientHello(0x0303, "crm.acme.example", [0x0304]));
        var ip = Ipv6("2001:db8:99::5", "2001:db8:ffff::20", 51, [.. ah, .. tcp]);

        var decoded = Decode(Ethernet(Broadcast, Broadcast, [99], 0x86DD, ip), out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(6, decoded.Protocol);
        Assert.Equal(40000, decoded.SourcePort);
        Assert.Equal(443, decoded.DestinationPort);
        Assert.Equal(TlsHandshake.ClientHello, decoded.Tls);
    }

    [Fact]
    public void Ipv6HopByHopThenAhThenDestinationOptions_TransportFound()
    {
        byte[] hopByHop = [51, 0, 1, 4, 0, 0, 0, 0];
        byte[] ah = [60, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 42, .. new byte[12]];
        byte[] destination = [17, 0, 1, 4, 0, 0, 0, 0];
        var udp = Udp(5353, 53, new byte[12]);
        var ip = Ipv6("2001:db8:10::11", "2001:db8:99::53", 0, [.. hopByHop, .. ah, .. destination, .. udp]);

        var decoded = Decode(Ethernet(Broadcast, Broadcast, [], 0x86DD, ip), out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(17, decoded.Protocol);
        Assert.Equal(53, decoded.DestinationPort);
        Assert.Equal(12, decoded.PayloadLength);
    }

    [Fact]
    public void TcpSequenceNumber_Decoded()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "192.0.2.10", 6, Tcp(1, 443, 0x02, [], sequence: 0xFEDCBA98)));

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(0xFEDCBA98u, decoded.TcpSequence);
        Assert.Equal(0x02, decoded.TcpFlags);
    }

    [Fact]
    public void ThreeTagStack_EveryTagOuterToInnerNoOverflow()
    {
        var frame = Ethernet(Broadcast, Broadcast, [100, 200, 10], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])), tpids: [0x88A8, 0x8100, 0x8100]);

        var decoded = Decode(frame, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(3, decoded.VlanCount);
        Assert.Equal(3, decoded.VlanHeaders);
        Assert.False(decoded.VlanOverflow);
        Assert.Equal(200, decoded.Vlans[1]);
    }

    [Fact]
    public void EthernetPaddingAfterShortPacket_Ignored()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.99.0.53", 17, Udp(1, 53, [])));
        var padded = frame.Concat(new byte[18]).ToArray();

        var decoded = Decode(padded, out var error);

        Assert.Equal(DecodeError.None, error);
        Assert.Equal(0, decoded.PayloadLength);
    }

    private static IPAddress RandomAddress(Random random, bool v6) => new(RandomBytes(random, v6 ? 16 : 4));

    private static System.Net.NetworkInformation.PhysicalAddress RandomMac(Random random) => new(RandomBytes(random, 6));

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static ulong PolicyMac(byte[] mac) => mac.Aggregate(0UL, (value, b) => (value << 8) | b);
}
