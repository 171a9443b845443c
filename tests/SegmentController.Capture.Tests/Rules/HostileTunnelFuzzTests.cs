using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using static SegmentController.Capture.Tests.Support.Frames;
using static SegmentController.Capture.Tests.Support.TunnelFrames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// Tunnel, ARP and IPv6 frames mutated at random (a fixed seed, so a failure replays) go through the
/// analyzer as a capture file's frames do: none may throw, every decode error is counted once by kind,
/// and no frame opens more tunnels than the decoder's bound.
/// </summary>
public sealed class HostileTunnelFuzzTests
{
    private const string Acme = "10.10.0.11";
    private const string Globex = "10.20.0.21";
    private const string Endpoint = "10.99.0.50";
    private const string Switch = "10.99.0.2";
    private const string Collector = "10.99.0.60";
    private const string Acme6 = "2001:db8:10::11";
    private const string Globex6 = "2001:db8:20::21";
    private const string Endpoint6 = "2001:db8:99::50";

    private static readonly byte[] HostMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GatewayMac = Mac(TestPolicy.AcmeGatewayMac);

    private static byte[] Syn4() => Ipv4(Acme, Globex, 6, Tcp(50100, 445, 0x02, []));

    private static byte[] Syn6() => Ipv6(Acme6, Globex6, 6, Tcp(50100, 445, 0x02, []));

    private static byte[] Inner(ushort etherType, byte[] packet, int[] vlans) =>
        Ethernet(Mac("02:00:00:aa:00:02"), Mac("02:00:00:aa:00:01"), vlans, etherType, packet);

    private static byte[] On10(ushort etherType, byte[] packet) => Ethernet(GatewayMac, HostMac, [10], etherType, packet);

    /// <summary>The shapes the mutations start from: every tunnel (PPTP and L2TP included), ERSPAN mirrors, MPLS, nested ones, options, tags, extension headers, fragments, ARP.</summary>
    private static IEnumerable<byte[]> Seeds()
    {
        foreach (ushort flags in (ushort[])[0x0000, 0x8000, 0x2000, 0x1000, 0xA000, 0x9000, 0x3000, 0xB000, 0x4000, 0x0001, 0xB007])
        {
            yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeIpv4, Syn4(), flags)));
            yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeBridging, Inner(0x86DD, Syn6(), [10, 20]), flags)));
        }

        foreach (var words in (int[])[0, 1, 5, 63])
        {
            yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 6081, Geneve(7, EtherTypeBridging, Inner(0x0800, Syn4(), [20]), words))));
            yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 17, Udp(49152, 6081, Geneve(7, EtherTypeIpv6, Syn6(), words))));
        }

        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 4789, Vxlan(5, Inner(0x0800, Syn4(), [10, 20, 30])))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 4789, Vxlan(5, Inner(0x86DD, Syn6(), [])))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 4, Syn4()));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 41, Syn6()));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeIpv4, Syn4()), flagsFragment: 0x2000));
        yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 4, Syn4(), [(0, new byte[6]), (60, new byte[14]), (43, new byte[6])]));
        yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 47, Gre(EtherTypeIpv6, Syn6()), [(44, [0, 0, 0, 0, 0, 1])]));
        yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 17, Udp(49152, 4789, Vxlan(5, Inner(0x0800, Syn4(), [10]))), [(60, new byte[6])]));

        // Tunnels nested past the decoder's bound: IP-in-IP four deep, then GRE in VXLAN in GENEVE in GRE.
        var nested = Syn4();
        for (var i = 0; i < 4; i++)
        {
            nested = Ipv4(Acme, Endpoint, 4, nested);
        }

        yield return On10(0x0800, nested);
        var mixed = Ipv4(Acme, Endpoint, 47, Gre(EtherTypeIpv4, Syn4()));
        mixed = Ipv4(Acme, Endpoint, 17, Udp(49152, 4789, Vxlan(1, Inner(0x0800, mixed, [10]))));
        mixed = Ipv4(Acme, Endpoint, 17, Udp(49152, 6081, Geneve(1, EtherTypeIpv4, mixed, 2)));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeIpv4, mixed, 0xB000)));

        // ERSPAN from a switch (a mirror, on management VLAN 99) and from a client host (a tunnel): types I–III,
        // the platform-specific subheader, a truncated mirror, a mirror carrying a tunnel and a mirror of a mirror.
        var mirrored = Inner(0x0800, Syn4(), [10]);
        var mirroredTunnel = Inner(0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeIpv4, Syn4())), [10]);
        foreach (var erspan in (byte[][])[ErspanI(mirrored), ErspanII(7, 10, mirrored), ErspanII(7, 0, mirrored.AsSpan(0, 40), truncated: true), ErspanIii(7, 10, mirrored), ErspanIii(7, 0, mirroredTunnel, platform: true)])
        {
            yield return Ethernet(GatewayMac, HostMac, [99], 0x0800, Ipv4(Switch, Collector, 47, erspan));
            yield return On10(0x0800, Ipv4(Acme, Collector, 47, erspan));
        }

        // VXLAN-GPE, GRE in UDP and MPLS (in UDP, in GRE, on the wire, a pseudowire in GRE).
        foreach (byte next in (byte[])[1, 2, 3, 4])
        {
            var payload = next switch { 1 => Syn4(), 2 => Syn6(), _ => Inner(0x0800, Syn4(), [10]) };
            yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 4790, VxlanGpe(5, next, payload))));
        }

        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 4754, Gre(EtherTypeBridging, Inner(0x0800, Syn4(), []), 0xB000))));
        yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 17, Udp(49152, 6635, Mpls([16, 17, 18], Syn6()))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Gre(EtherTypeMpls, Mpls([16], [0, 0, 0, 0, .. Inner(0x0800, Syn4(), [10])]))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 4754, Gre(EtherTypeMpls, Mpls([.. Enumerable.Range(16, 20)], Syn4())))));
        yield return On10(EtherTypeMpls, Mpls([16, 17], Syn4()));
        yield return On10(0x8848, Mpls([16], Ipv4(Acme, Endpoint, 17, Udp(49152, 6635, Mpls([20], Syn4())))));

        // PPTP (with and without acknowledgement, compressed PPP fields, LCP), L2TPv2 with every optional field and
        // a control message, L2TPv3 over UDP and over IP, with and without the default sublayer.
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Pptp(Ppp(PppIpv4, Syn4()), acknowledged: true)));
        yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 47, Pptp(Ppp(PppIpv6, Syn6(), addressControl: false, compressProtocol: true))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 47, Pptp(Ppp(PppLcp, [9, 1, 0, 8, 0, 0, 0, 0]))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 1701, L2tp(Ppp(PppIpv4, Syn4()), withLength: true, sequenced: true, offsetPad: 4))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(1701, 1701, L2tp(Ppp(PppIpv6, Syn6(), compressProtocol: true)))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(1701, 1701, L2tp([0x80, 8, 0, 0, 0, 0, 0, 1], withLength: true, sequenced: true, control: true))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 17, Udp(49152, 1701, L2tpv3Udp(9, Inner(0x0800, Syn4(), [10])))));
        yield return On10(0x86DD, Ipv6(Acme6, Endpoint6, 115, L2tpv3Ip(9, Inner(0x86DD, Syn6(), []))));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 115, L2tpv3Ip(9, [0x40, 0, 0, 5, .. Inner(0x0800, Syn4(), [10, 20])])));
        yield return On10(0x0800, Ipv4(Acme, Endpoint, 115, L2tpv3Ip(9, Inner(0x0800, Ipv4(Acme, Endpoint, 47, Pptp(Ppp(PppIpv4, Syn4()))), []))));

        var mirrorOfMirror = Ethernet(GatewayMac, HostMac, [99], 0x0800, Ipv4(Switch, Collector, 47, ErspanII(1, 0, mirrored)));
        yield return Ethernet(GatewayMac, HostMac, [], 0x0800, Ipv4(Switch, Collector, 47, ErspanIii(2, 99, mirrorOfMirror)));

        yield return On10(0x0806, Arp(1, HostMac, Acme, new byte[6], Globex));
        yield return On10(0x0806, Arp(2, HostMac, Acme, HostMac, Acme));
        yield return Ethernet(Broadcast, HostMac, [], 0x0806, Arp(1, HostMac, "0.0.0.0", new byte[6], Acme));
        yield return On10(0x86DD, Ipv6("fe80::1", "ff02::1:ff00:11", 58, Icmp(135, 0, 20), [(0, new byte[6])]));
        yield return On10(0x86DD, Ipv6("2002:a0a:b::1", "64:ff9b::a14:15", 6, Tcp(1, 2, 0x02, [])));
    }

    /// <summary>One random mutation: byte flips, a field set to an edge value, a cut, a splice, an insertion or a deletion.</summary>
    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = (byte[])seed.Clone();
        var edits = random.Next(1, 5);
        for (var edit = 0; edit < edits && bytes.Length > 0; edit++)
        {
            var at = random.Next(bytes.Length);
            switch (random.Next(7))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes[at] = random.Next(2) == 0 ? (byte)0x00 : (byte)0xFF;
                    if (at + 1 < bytes.Length)
                    {
                        bytes[at + 1] = bytes[at];
                    }

                    break;
                case 3:
                    bytes = bytes[..random.Next(bytes.Length + 1)];
                    break;
                case 4:
                    bytes = [.. bytes[..at], .. new byte[random.Next(1, 64)].Select(_ => (byte)random.Next(256)), .. bytes[at..]];
                    break;
                case 5:
                    bytes = [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + random.Next(1, 24))..]];
                    break;
                default:
                    var from = random.Next(bytes.Length);
                    var length = Math.Min(random.Next(1, 32), Math.Min(bytes.Length - from, bytes.Length - at));
                    bytes.AsSpan(from, length).ToArray().CopyTo(bytes, at);
                    break;
            }
        }

        return bytes;
    }

    [Fact]
    public void MutatedTunnelArpAndIpv6Frames_NoExceptionEveryErrorCountedTunnelsBounded()
    {
        var seeds = Seeds().ToArray();
        var random = new Random(20261127);
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "fuzz", new CaptureAnalyzerOptions { FlowCapacity = 1 << 16 });
        var ticks = Corpus.Start.Ticks;
        long frames = 0;
        var decoded = default(DecodedFrame);
        var inner = default(DecodedFrame);
        foreach (var seed in seeds)
        {
            for (var i = 0; i < 2_000; i++)
            {
                var bytes = Mutate(seed, random);

                // Cut by a snap length with the wire length kept, or as it is on the wire.
                var wire = random.Next(3) == 0 ? bytes.Length + random.Next(1, 2_000) : bytes.Length;
                analyzer.ProcessFrame(bytes, wire, ticks += TimeSpan.TicksPerMillisecond);
                frames++;

                // The decoder alone: tunnels are opened no deeper than its bound however the frame nests them.
                FrameDecoder.Decode(bytes, wire, ref decoded);
                var carrier = decoded;
                for (var depth = 0; carrier.Tunnel != Encapsulation.None; depth++)
                {
                    Assert.True(depth < FrameDecoder.MaxTunnelDepth + 1, "tunnel chain longer than the bound");
                    if (carrier.Tunnel == Encapsulation.Erspan)
                    {
                        FrameDecoder.DecodeMirrored(FrameDecoder.TunnelPayload(bytes, in carrier, out _), in carrier, ref inner);
                    }

                    FrameDecoder.DecodeEncapsulated(bytes, in carrier, ref inner);
                    Assert.InRange(inner.TunnelOffset, 0, bytes.Length);
                    carrier = inner;
                    if (depth + 1 == FrameDecoder.MaxTunnelDepth)
                    {
                        break;
                    }
                }
            }
        }

        Assert.Equal(frames, analyzer.Packets);
        Assert.Equal(analyzer.DecodeErrors, analyzer.DecodeErrorsByKind.Sum());
        Assert.True(analyzer.DecodeErrors > 0);
        _ = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
    }
}
