using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace SegmentController.Capture.Decoding;

/// <summary>
/// Decodes Ethernet II frames on a span, allocating nothing: VLAN tag stacks, IPv4 (options,
/// fragments), IPv6 (extension headers), TCP, UDP, ICMP/ICMPv6, ARP and the first TLS handshake
/// message; MPLS label stacks are walked to the IP packet under them; tunnels (IP in IP, IPv6 in IP, GRE,
/// VXLAN, VXLAN-GPE, GENEVE, GRE in UDP, MPLS in UDP, ERSPAN, PPTP, L2TPv2, L2TPv3) are recognised on the way and the packet
/// they carry is decoded on request (<see cref="DecodeEncapsulated"/>, or <see cref="DecodeMirrored"/> for a
/// switch's ERSPAN mirror), so only tunnelled frames pay for it. Every length is checked against both the captured bytes and the wire length; a frame that
/// does not add up is reported as a <see cref="DecodeError"/>, never an exception.
/// </summary>
internal static class FrameDecoder
{
    /// <summary>
    /// Tags kept per frame, outer first. Real QinQ uses two; a deeper stack is hostile and flagged
    /// (<see cref="DecodedFrame.VlanOverflow"/>), never an error, so it is judged as vlan-hopping.
    /// </summary>
    public const int MaxVlanTags = 8;

    /// <summary>
    /// Tag headers walked at most (1 KiB of tags): past this the frame is not decoded further, which
    /// bounds the work a hostile stack can cause.
    /// </summary>
    public const int MaxWalkedVlanTags = 256;

    /// <summary>Real stacks use two or three; a longer chain is treated as malformed.</summary>
    public const int MaxIpv6ExtensionHeaders = 8;

    public const ushort EtherTypeIpv4 = 0x0800;
    public const ushort EtherTypeArp = 0x0806;
    public const ushort EtherTypeIpv6 = 0x86DD;
    public const ushort TpidCustomer = 0x8100;
    public const ushort TpidService = 0x88A8;
    public const ushort TpidLegacyService = 0x9100;

    /// <summary>Transparent Ethernet bridging: the payload is an Ethernet frame (GRE, GENEVE).</summary>
    public const ushort EtherTypeBridging = 0x6558;

    public const ushort VxlanPort = 4789;

    /// <summary>
    /// The port Linux's VXLAN driver uses when none is given (flannel and Cilium too): a tunnel set up with
    /// the defaults uses it, so it is opened as VXLAN as well.
    /// </summary>
    public const ushort VxlanLinuxPort = 8472;
    public const ushort GenevePort = 6081;
    public const ushort VxlanGpePort = 4790;
    public const ushort GreInUdpPort = 4754;
    public const ushort MplsInUdpPort = 6635;

    /// <summary>
    /// L2TP (versions 2 and 3) over UDP, on either end: an LAC may send from another port, and its peer answers to
    /// that port from 1701 — but only to a port of <see cref="FirstUnprivilegedPort"/> or above (<see cref="IsL2tpReply"/>).
    /// </summary>
    public const ushort L2tpPort = 1701;

    /// <summary>The lowest port an operating system hands out as a socket's own; the ports below it are services'.</summary>
    public const ushort FirstUnprivilegedPort = 1024;

    /// <summary>GRE protocol type of PPP, as PPTP's enhanced GRE (version 1) carries it.</summary>
    public const ushort GreProtocolPpp = 0x880B;

    /// <summary>PPP protocol numbers (RFC 1661) of the packets a PPP frame carries that are opened.</summary>
    public const ushort PppProtocolIpv4 = 0x0021;

    /// <inheritdoc cref="PppProtocolIpv4"/>
    public const ushort PppProtocolIpv6 = 0x0057;

    /// <summary>
    /// PPP's Van Jacobson uncompressed TCP (RFC 1144): an IPv4 packet whole but for its protocol field, which holds
    /// the TCP connection's slot. It stands for itself as <see cref="DecodedFrame.TunnelPayload"/> (it is no
    /// EtherType): the packet is decoded as IPv4 carrying TCP.
    /// </summary>
    public const ushort PppProtocolVjUncompressedTcp = 0x002F;

    /// <summary>ICMPv6 neighbour solicitation (RFC 4861): IPv6's ARP request, its target address at offset 8.</summary>
    public const byte IcmpNeighborSolicitation = 135;

    public const ushort EtherTypeMplsUnicast = 0x8847;
    public const ushort EtherTypeMplsMulticast = 0x8848;

    /// <summary>GRE protocol type of ERSPAN types I and II (type II has a GRE sequence number and an ERSPAN header).</summary>
    public const ushort GreProtocolErspan = 0x88BE;

    /// <summary>GRE protocol type of ERSPAN type III.</summary>
    public const ushort GreProtocolErspanIii = 0x22EB;

    /// <summary>
    /// Labels walked at most in an MPLS stack: real stacks hold a few (segment routing a dozen); a longer one
    /// is a decode error, which bounds the work a hostile stack can cause.
    /// </summary>
    public const int MaxMplsLabels = 16;

    /// <summary>
    /// Tunnels named in <see cref="DecodedFrame.TunnelPath"/>, and tunnelled packets judged one by one per
    /// frame. Real deployments nest one or two (an overlay in GRE); a packet deeper in is judged too, as the
    /// innermost reached, under the path of the outer ones (<see cref="MaxWalkedTunnels"/>).
    /// </summary>
    public const int MaxTunnelDepth = 3;

    /// <summary>
    /// Tunnels opened per frame at most (at least 20 bytes of header each): an endpoint decapsulates a packet
    /// addressed to itself again, so deeper nesting must not hide the innermost packet, and the bound caps the
    /// work a frame of tunnels within tunnels can cause. A chain longer than this is a decode error.
    /// </summary>
    public const int MaxWalkedTunnels = 16;

    /// <summary>Decodes <paramref name="frame"/> (the captured bytes) of a frame <paramref name="wireLength"/> long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DecodeError Decode(ReadOnlySpan<byte> frame, int wireLength, ref DecodedFrame result)
    {
        result = default;
        if (wireLength < frame.Length)
        {
            wireLength = frame.Length;
        }

        if (frame.Length < 14)
        {
            return DecodeError.TruncatedEthernet;
        }

        result.DestinationMac = ReadMac(frame);
        result.SourceMac = ReadMac(frame[6..]);
        var offset = 12;
        var etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
        var headers = 0;
        while (etherType is TpidCustomer or TpidService or TpidLegacyService)
        {
            if (frame.Length < offset + 6 || headers == MaxWalkedVlanTags)
            {
                result.VlanHeaders = headers;
                if (headers > MaxVlanTags)
                {
                    // A stack this deep is a hopping attempt whatever follows it (the snap length or
                    // the walking bound may hide the rest): judged by its tags, not dropped as an error.
                    result.VlanOverflow = true;
                    result.EtherType = etherType;
                    result.Layer = NetworkLayer.Other;
                    return DecodeError.None;
                }

                return DecodeError.TruncatedVlanTag;
            }

            headers++;
            var vid = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[(offset + 2)..]) & 0x0FFF);
            if (vid != 0)
            {
                result.TaggedHeaders = headers;
                if (result.VlanCount < MaxVlanTags)
                {
                    result.Vlans[result.VlanCount++] = vid;
                }
            }

            offset += 4;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
        }

        result.VlanHeaders = headers;
        result.VlanOverflow = headers > MaxVlanTags;
        offset += 2;
        result.EtherType = etherType;
        var wireRemaining = wireLength - offset;
        return etherType switch
        {
            EtherTypeIpv4 => DecodeIpv4(frame[offset..], offset, wireRemaining, ref result),
            EtherTypeIpv6 => DecodeIpv6(frame[offset..], offset, wireRemaining, ref result),
            EtherTypeArp => DecodeArp(frame[offset..], ref result),
            EtherTypeMplsUnicast or EtherTypeMplsMulticast => DecodeMpls(frame[offset..], offset, wireRemaining, insideTunnel: false, ref result),
            _ => DecodeError.None,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadMac(ReadOnlySpan<byte> six) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(six) << 32) | BinaryPrimitives.ReadUInt32BigEndian(six[2..]);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DecodeError DecodeArp(ReadOnlySpan<byte> arp, ref DecodedFrame result)
    {
        result.Layer = NetworkLayer.Arp;
        if (arp.Length < 28)
        {
            return DecodeError.TruncatedArp;
        }

        // Only Ethernet/IPv4 ARP matters for spoofing; other hardware or protocol types pass undecoded.
        if (BinaryPrimitives.ReadUInt16BigEndian(arp) != 1 || BinaryPrimitives.ReadUInt16BigEndian(arp[2..]) != EtherTypeIpv4 || arp[4] != 6 || arp[5] != 4)
        {
            result.Layer = NetworkLayer.Other;
            return DecodeError.None;
        }

        result.ArpOperation = BinaryPrimitives.ReadUInt16BigEndian(arp[6..]);
        result.ArpSenderMac = ReadMac(arp[8..]);
        result.Source = IpKey.FromV4(BinaryPrimitives.ReadUInt32BigEndian(arp[14..]));
        result.ArpTargetMac = ReadMac(arp[18..]);
        result.Destination = IpKey.FromV4(BinaryPrimitives.ReadUInt32BigEndian(arp[24..]));
        return DecodeError.None;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DecodeError DecodeIpv4(ReadOnlySpan<byte> ip, int frameOffset, int wireRemaining, ref DecodedFrame result, bool vanJacobsonTcp = false)
    {
        result.Layer = NetworkLayer.Ipv4;
        if (ip.Length < 20)
        {
            return DecodeError.TruncatedIpv4;
        }

        var versionIhl = ip[0];
        if (versionIhl >> 4 != 4)
        {
            return DecodeError.BadIpv4Header;
        }

        // The addresses are read as soon as the fixed header is there: a packet whose later fields do
        // not add up still went from its source to its destination (a raw socket sends and receives it).
        ReadIpv4Addresses(ip, ref result);
        if (vanJacobsonTcp)
        {
            // PPP's Van Jacobson uncompressed TCP: the protocol field holds the connection's slot.
            result.Protocol = IpProtocols.Tcp;
        }
        var headerLength = (versionIhl & 0x0F) * 4;
        if (headerLength < 20)
        {
            return DecodeError.BadIpv4Header;
        }

        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (totalLength < headerLength || totalLength > wireRemaining)
        {
            return DecodeError.Ipv4LengthLies;
        }

        if (ip.Length < headerLength)
        {
            return DecodeError.TruncatedIpv4;
        }

        if (headerLength > 20)
        {
            ReadIpv4SourceRoute(ip[20..headerLength], frameOffset + 20, ref result);
        }

        var flagsFragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        var fragmentOffset = flagsFragment & 0x1FFF;
        result.IsFragment = fragmentOffset != 0 || (flagsFragment & 0x2000) != 0;

        // Ethernet padding follows short packets; the snap length may cut long ones.
        var available = Math.Min(ip.Length, totalLength);
        if (fragmentOffset != 0)
        {
            return DecodeError.None;
        }

        return DecodeTransport(ip[headerLength..available], frameOffset + headerLength, totalLength - headerLength, ref result);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DecodeError DecodeIpv6(ReadOnlySpan<byte> ip, int frameOffset, int wireRemaining, ref DecodedFrame result)
    {
        result.Layer = NetworkLayer.Ipv6;
        if (ip.Length < 40)
        {
            return DecodeError.TruncatedIpv6;
        }

        if (ip[0] >> 4 != 6)
        {
            return DecodeError.BadIpv6Header;
        }

        result.Source = IpKey.FromV6(ip[8..]);
        result.Destination = IpKey.FromV6(ip[24..]);
        result.HasAddresses = true;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        if (payloadLength + 40 > wireRemaining)
        {
            return DecodeError.Ipv6LengthLies;
        }

        var available = Math.Min(ip.Length, payloadLength + 40);
        var next = ip[6];
        var offset = 40;
        for (var count = 0; ; count++)
        {
            switch (next)
            {
                case IpProtocols.HopByHop or IpProtocols.Routing or IpProtocols.DestinationOptions or IpProtocols.Mobility:
                case IpProtocols.Fragment:
                case IpProtocols.Ah:
                    break;
                default:
                    result.Protocol = next;
                    // A snap length that cut the chain's last header leaves none of the transport:
                    // it decodes as an empty (truncated) segment.
                    return next is IpProtocols.NoNextHeader or IpProtocols.Esp
                        ? DecodeError.None
                        : DecodeTransport(ip[Math.Min(offset, available)..available], frameOffset + offset, payloadLength + 40 - offset, ref result);
            }

            if (count == MaxIpv6ExtensionHeaders)
            {
                result.Protocol = next;
                return DecodeError.Ipv6ExtensionChain;
            }

            if (available < offset + 8)
            {
                // The snap length cut the chain: the addresses are known, the transport is not.
                result.Protocol = next;
                return available == ip.Length && payloadLength + 40 > ip.Length ? DecodeError.None : DecodeError.Ipv6ExtensionChain;
            }

            var header = ip[offset..];
            int length;
            if (next == IpProtocols.Fragment)
            {
                length = 8;
                var fragmentOffset = BinaryPrimitives.ReadUInt16BigEndian(header[2..]) >> 3;
                result.IsFragment = true;
                if (fragmentOffset != 0)
                {
                    result.Protocol = header[0];
                    return DecodeError.None;
                }
            }
            else if (next == IpProtocols.Ah)
            {
                length = (header[1] + 2) * 4;
            }
            else
            {
                length = (header[1] + 1) * 8;
                if (next == IpProtocols.Routing && result.RouteHops == 0 && offset + length <= available)
                {
                    ReadIpv6SourceRoute(header[..length], frameOffset + offset, ref result);
                }
            }

            next = header[0];
            offset += length;
            if (offset > payloadLength + 40)
            {
                result.Protocol = next;
                return DecodeError.Ipv6ExtensionChain;
            }
        }
    }

    /// <summary>
    /// The hops an IPv4 loose or strict source route option (131, 137) has still to visit: a router that honours
    /// it (Cisco IOS does by default, Linux with <c>accept_source_route</c>) sends the packet on to each in turn,
    /// whatever the header's destination. Options are walked as Linux does; a malformed one ends the walk.
    /// </summary>
    private static void ReadIpv4SourceRoute(ReadOnlySpan<byte> options, int frameOffset, ref DecodedFrame result)
    {
        var at = 0;
        while (at < options.Length)
        {
            var type = options[at];
            if (type == 0)
            {
                return;
            }

            if (type == 1)
            {
                at++;
                continue;
            }

            if (at + 1 >= options.Length || options[at + 1] < 2 || at + options[at + 1] > options.Length)
            {
                return;
            }

            int length = options[at + 1];
            if (type is 0x83 or 0x89)
            {
                // The pointer (1-based, at least 4) names the next hop; past the option's end the route is done.
                if (length >= 3)
                {
                    int pointer = options[at + 2];
                    if (pointer >= 4 && pointer + 3 <= length)
                    {
                        result.RouteOffset = frameOffset + at + pointer - 1;
                        result.RouteHops = (length - pointer + 1) / 4;
                    }
                }

                return;
            }

            at += length;
        }
    }

    /// <summary>
    /// The hops an IPv6 routing header of type 0 (RFC 2460's, deprecated but still honoured by some routers) or 4
    /// (segment routing, RFC 8754: SRv6 routers and Linux with <c>seg6_enabled</c>) has still to visit
    /// (segments left): the node the header's destination names sends the packet on to each in turn. The first
    /// routing header with hops left counts; other types (Mobile IPv6's home address, RPL's compressed one) are not read.
    /// </summary>
    private static void ReadIpv6SourceRoute(ReadOnlySpan<byte> header, int frameOffset, ref DecodedFrame result)
    {
        int segmentsLeft = header[3];
        var listed = (header.Length - 8) / 16;
        if (segmentsLeft == 0)
        {
            return;
        }

        switch (header[2])
        {
            case 0:
                // Addresses in visiting order: the last segmentsLeft of them are still to come.
                if (segmentsLeft <= listed)
                {
                    result.RouteOffset = frameOffset + 8 + ((listed - segmentsLeft) * 16);
                    result.RouteHops = segmentsLeft;
                }

                break;

            case 4:
                // The segment list is in reverse: entry segmentsLeft is the active segment (the destination), the
                // entries below it are still to come, entry 0 the last.
                if (segmentsLeft <= Math.Min(header[4], listed - 1))
                {
                    result.RouteOffset = frameOffset + 8;
                    result.RouteHops = segmentsLeft;
                }

                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReadIpv4Addresses(ReadOnlySpan<byte> ip, ref DecodedFrame result)
    {
        result.Source = IpKey.FromV4(BinaryPrimitives.ReadUInt32BigEndian(ip[12..]));
        result.Destination = IpKey.FromV4(BinaryPrimitives.ReadUInt32BigEndian(ip[16..]));
        result.Protocol = ip[9];
        result.HasAddresses = true;
    }

    /// <param name="segment">The transport bytes captured (possibly cut by the snap length).</param>
    /// <param name="frameOffset">Where <paramref name="segment"/> starts in the frame.</param>
    /// <param name="declaredLength">The transport length the IP header declares.</param>
    /// <param name="result">Where the transport fields go.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DecodeError DecodeTransport(ReadOnlySpan<byte> segment, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        switch (result.Protocol)
        {
            case IpProtocols.Tcp:
                {
                    if (segment.Length < 20)
                    {
                        return declaredLength < 20 ? DecodeError.BadTcpHeader : DecodeError.TruncatedTcp;
                    }

                    var headerLength = (segment[12] >> 4) * 4;
                    if (headerLength < 20 || headerLength > declaredLength)
                    {
                        return DecodeError.BadTcpHeader;
                    }

                    if (headerLength > segment.Length)
                    {
                        return DecodeError.TruncatedTcp;
                    }

                    result.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(segment);
                    result.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(segment[2..]);
                    result.TcpSequence = BinaryPrimitives.ReadUInt32BigEndian(segment[4..]);
                    result.TcpFlags = segment[13];
                    result.HasTransport = true;
                    result.PayloadOffset = frameOffset + headerLength;
                    result.PayloadLength = segment.Length - headerLength;
                    if (result.PayloadLength > 0)
                    {
                        TlsParser.Parse(segment[headerLength..], result.PayloadOffset, ref result);
                    }

                    return DecodeError.None;
                }

            case IpProtocols.Udp:
                {
                    if (segment.Length < 8)
                    {
                        return declaredLength < 8 ? DecodeError.UdpLengthLies : DecodeError.TruncatedUdp;
                    }

                    // A first fragment's UDP header declares the whole datagram, longer than the fragment:
                    // the rest is in later fragments, not a lie (a fragmented VXLAN or GENEVE carrier still
                    // holds the inner packet's headers).
                    int udpLength = BinaryPrimitives.ReadUInt16BigEndian(segment[4..]);
                    if (udpLength < 8 || (udpLength > declaredLength && !result.IsFragment))
                    {
                        return DecodeError.UdpLengthLies;
                    }

                    result.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(segment);
                    result.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(segment[2..]);
                    result.HasTransport = true;
                    result.PayloadOffset = frameOffset + 8;
                    result.PayloadLength = Math.Min(segment.Length, udpLength) - 8;
                    return (result.DestinationPort is VxlanPort or VxlanLinuxPort or GenevePort or VxlanGpePort or GreInUdpPort or MplsInUdpPort or L2tpPort || IsL2tpReply(in result)) && result.PayloadLength >= 8
                        ? DecodeUdpTunnel(segment[8..(8 + result.PayloadLength)], result.PayloadOffset, udpLength - 8, ref result)
                        : DecodeError.None;
                }

            case IpProtocols.IpInIp:
                return Carry(Encapsulation.IpInIp, EtherTypeIpv4, frameOffset, declaredLength, ref result);

            case IpProtocols.Ipv6InIp:
                return Carry(Encapsulation.Ipv6InIp, EtherTypeIpv6, frameOffset, declaredLength, ref result);

            case IpProtocols.Gre:
                return DecodeGre(Encapsulation.Gre, segment, frameOffset, declaredLength, ref result);

            case IpProtocols.L2tp:
                return DecodeL2tpv3(segment, 0, frameOffset, declaredLength, ref result);

            case IpProtocols.Icmp or IpProtocols.Icmpv6:
                if (segment.Length < 4)
                {
                    return DecodeError.TruncatedIcmp;
                }

                result.IcmpType = segment[0];
                result.IcmpCode = segment[1];
                result.HasTransport = true;
                result.PayloadOffset = frameOffset + 4;
                result.PayloadLength = segment.Length - 4;
                if (result.Protocol == IpProtocols.Icmpv6 && result.IcmpType == IcmpNeighborSolicitation && segment.Length >= 24 && declaredLength >= 24)
                {
                    // Whom it resolves is the target; its destination (a solicited-node group) is shared by many hosts.
                    result.NeighborSolicitation = true;
                    result.Destination = IpKey.FromV6(segment[8..]);
                }

                return DecodeError.None;

            default:
                return DecodeError.None;
        }
    }

    /// <summary>
    /// True for a datagram from <see cref="L2tpPort"/> to a port the receiving system picked for itself, as an L2TP
    /// peer answers an LAC that sent from such a port. A datagram from 1701 to a service's port below
    /// <see cref="FirstUnprivilegedPort"/> is that service's client, whose system picked 1701 as its source port
    /// (a resolver forwarding a query from a random port), and its bytes are chosen by whoever asked it: read as
    /// L2TP they could name any two clients.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsL2tpReply(in DecodedFrame result) =>
        result.SourcePort == L2tpPort && result.DestinationPort >= FirstUnprivilegedPort;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeError Carry(Encapsulation encapsulation, ushort payload, int frameOffset, int length, ref DecodedFrame result)
    {
        result.Tunnel = encapsulation;
        result.TunnelPayload = payload;
        result.TunnelOffset = frameOffset;
        result.TunnelLength = length;
        return DecodeError.None;
    }

    /// <summary>
    /// GRE (RFC 2784, with RFC 2890's key and sequence number), over IP or in UDP (<paramref name="kind"/>).
    /// Version 1 over IP is PPTP's enhanced GRE (<see cref="DecodePptp"/>). Other versions, version 1 in UDP and
    /// the RFC 1701 routing field are not opened — Linux drops them — nor are payloads other than IPv4, IPv6,
    /// Ethernet, MPLS and ERSPAN: such packets are judged as the GRE packets they are.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeError DecodeGre(Encapsulation kind, ReadOnlySpan<byte> segment, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        if (segment.Length < 4)
        {
            return declaredLength < 4 ? DecodeError.BadTunnelHeader : DecodeError.TruncatedTunnelHeader;
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(segment);
        if ((flags & 0x0007) == 1 && kind == Encapsulation.Gre)
        {
            return DecodePptp(flags, segment, frameOffset, declaredLength, ref result);
        }

        if ((flags & 0x4007) != 0)
        {
            return DecodeError.None;
        }

        // Checksum (C), key (K) and sequence number (S) each add four bytes.
        var headerLength = 4 + ((flags >> 15) * 4) + (((flags >> 13) & 1) * 4) + (((flags >> 12) & 1) * 4);
        if (headerLength > declaredLength)
        {
            return DecodeError.BadTunnelHeader;
        }

        if (headerLength > segment.Length)
        {
            return DecodeError.TruncatedTunnelHeader;
        }

        var payload = BinaryPrimitives.ReadUInt16BigEndian(segment[2..]);
        return payload switch
        {
            EtherTypeIpv4 or EtherTypeIpv6 or EtherTypeBridging or EtherTypeMplsUnicast or EtherTypeMplsMulticast =>
                Carry(kind, payload, frameOffset + headerLength, declaredLength - headerLength, ref result),
            GreProtocolErspan or GreProtocolErspanIii =>
                DecodeErspan(payload, (flags & 0x1000) != 0, segment[headerLength..], frameOffset + headerLength, declaredLength - headerLength, ref result),
            _ => DecodeError.None,
        };
    }

    /// <summary>
    /// PPTP's data channel (RFC 2637): enhanced GRE of version 1 and protocol 0x880B, the key present (its high
    /// half the payload length, its low half the call id), an optional sequence number (present when the packet
    /// holds data) and acknowledgement number; no checksum, routing, strict source route or recursion. A packet
    /// without a sequence number carries no data, whatever its payload length says (an acknowledgement alone).
    /// The payload is a PPP frame (<see cref="DecodePpp"/>), the packet's whole rest as Linux delivers it, however
    /// short the payload length says it is; a longer one is malformed. Enhanced GRE that does not fit this is not
    /// opened and judged as the GRE packet it is.
    /// </summary>
    /// <param name="flags">The first word of the GRE header.</param>
    /// <param name="segment">The GRE header and what follows, as captured (at least 4 bytes).</param>
    /// <param name="frameOffset">Where <paramref name="segment"/> starts in the frame.</param>
    /// <param name="declaredLength">The length the IP header declares for the GRE packet.</param>
    /// <param name="result">Where the tunnel goes.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeError DecodePptp(ushort flags, ReadOnlySpan<byte> segment, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        if ((flags & 0xEF00) != 0x2000 || BinaryPrimitives.ReadUInt16BigEndian(segment[2..]) != GreProtocolPpp)
        {
            return DecodeError.None;
        }

        var sequenced = (flags & 0x1000) != 0;
        var headerLength = 8 + (sequenced ? 4 : 0) + ((flags & 0x0080) != 0 ? 4 : 0);
        if (headerLength > declaredLength)
        {
            return DecodeError.BadTunnelHeader;
        }

        if (headerLength > segment.Length)
        {
            return DecodeError.TruncatedTunnelHeader;
        }

        if (!sequenced)
        {
            return DecodeError.None;
        }

        // A first fragment holds the start of the payload; the rest follows in later fragments, no lie. A payload
        // length short of the packet's rest does not shorten the PPP frame: Linux's receiver hands PPP that whole
        // rest (it drops only a packet shorter than the length says), so a length that said less would hide it.
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(segment[4..]);
        if (headerLength + payloadLength > declaredLength && !result.IsFragment)
        {
            return DecodeError.BadTunnelHeader;
        }

        var pppLength = Math.Max(declaredLength - headerLength, payloadLength);
        return DecodePpp(Encapsulation.Pptp, segment[headerLength..], frameOffset + headerLength, pppLength, ref result);
    }

    /// <summary>
    /// L2TP over UDP (to port 1701, or from it as a reply, <see cref="IsL2tpReply"/>), by the version in its first word: 2
    /// (RFC 2661) or 3 (RFC 3931, <see cref="DecodeL2tpv3"/>); any other version is not L2TP and the datagram is
    /// judged as the UDP it is. An L2TPv2 control message (T set) is no data and is not opened. A data message
    /// has the optional length (L), sequence numbers (S) and offset (O, an offset size and that many bytes of
    /// padding) before its PPP frame (<see cref="DecodePpp"/>), which runs to the datagram's end whatever the
    /// length says, as Linux delivers it; the priority bit and the reserved bits are ignored, as RFC 2661 asks of
    /// a receiver.
    /// </summary>
    /// <param name="payload">The UDP payload captured (at least 8 bytes).</param>
    /// <param name="frameOffset">Where <paramref name="payload"/> starts in the frame.</param>
    /// <param name="declaredLength">The UDP payload length the UDP header declares.</param>
    /// <param name="result">Where the tunnel goes.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeError DecodeL2tp(ReadOnlySpan<byte> payload, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        var flags = BinaryPrimitives.ReadUInt16BigEndian(payload);
        switch (flags & 0x000F)
        {
            case 3:
                return (flags & 0x8000) != 0 ? DecodeError.None : DecodeL2tpv3(payload, 4, frameOffset, declaredLength, ref result);
            case not 2:
                return DecodeError.None;
        }

        if ((flags & 0x8000) != 0)
        {
            return DecodeError.None;
        }

        var hasLength = (flags & 0x4000) != 0;
        var hasOffset = (flags & 0x0200) != 0;
        var headerLength = 6 + (hasLength ? 2 : 0) + ((flags & 0x0800) != 0 ? 4 : 0) + (hasOffset ? 2 : 0);
        if (headerLength > declaredLength)
        {
            return DecodeError.BadTunnelHeader;
        }

        if (headerLength > payload.Length)
        {
            return DecodeError.TruncatedTunnelHeader;
        }

        // The length field (L) is skipped, not trusted: Linux's receiver skips it and hands PPP the datagram's
        // whole rest, so a length that said less (or more) would hide the packet it delivers.
        if (hasOffset)
        {
            headerLength += BinaryPrimitives.ReadUInt16BigEndian(payload[(headerLength - 2)..]);
            if (headerLength > declaredLength)
            {
                return DecodeError.BadTunnelHeader;
            }

            if (headerLength > payload.Length)
            {
                return DecodeError.TruncatedTunnelHeader;
            }
        }

        return DecodePpp(Encapsulation.L2tp, payload[headerLength..], frameOffset + headerLength, declaredLength - headerLength, ref result);
    }

    /// <summary>
    /// An L2TPv3 data message (RFC 3931) over IP (protocol 115; <paramref name="sessionAt"/> 0) or UDP (after
    /// the 4-byte flags, version and reserved word; 4): a session id of 0 is a control message over IP and is
    /// not opened. What follows the session id depends on the session's configuration, which only the control
    /// channel (or an operator) sets: a cookie of 0, 4 or 8 bytes and an optional sublayer, then the
    /// pseudowire's payload. The two common layouts of an Ethernet pseudowire without a cookie are tried: the
    /// frame after RFC 3931's default sublayer (four bytes, whatever they hold: a sequence number and bits the
    /// receiver ignores; what Linux's <c>ip l2tp</c> sets up by default, and the layout of a four-byte cookie
    /// too), then right after the session id (Cisco's default, and Linux's with
    /// <c>l2spec_type none</c>), each only when the bytes parse as a sane Ethernet frame carrying IP
    /// (<see cref="PlainEthernetIpOffset"/>). Anything else (eight bytes before the frame — a cookie of eight,
    /// or of four and the sublayer — another pseudowire type, a frame the snap length cut short) is not opened,
    /// and the packet is judged as the IP or UDP packet it is, with no error counted: a guessed layout must not
    /// invent findings.
    /// </summary>
    /// <param name="header">The L2TPv3 header and what follows, as captured.</param>
    /// <param name="sessionAt">Where the session id starts in <paramref name="header"/>.</param>
    /// <param name="frameOffset">Where <paramref name="header"/> starts in the frame.</param>
    /// <param name="declaredLength">The length the carrier declares for <paramref name="header"/> and what follows.</param>
    /// <param name="result">Where the tunnel goes.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeError DecodeL2tpv3(ReadOnlySpan<byte> header, int sessionAt, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        var start = sessionAt + 4;
        if (start > declaredLength)
        {
            return DecodeError.BadTunnelHeader;
        }

        if (start > header.Length)
        {
            return DecodeError.TruncatedTunnelHeader;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(header[sessionAt..]) == 0)
        {
            return DecodeError.None;
        }

        // The sublayer's layout first: a sublayer's frame read without it shifts by four bytes, and a host that
        // picks its pseudowire's MAC (02:00:08:00:45:xx) makes that shift a decoy IPv4 packet between addresses
        // of its own choosing, hiding the real one. Its reserved bits are not looked at: the receiving end
        // ignores them (RFC 3931, and Linux), so a host that set them would steer the decoder to the decoy. A
        // frame without a sublayer read with one is the same IP packet when tagged (a tag makes up the shift),
        // read then without the sublayer for its own MACs; untagged, its IP length or IPv6 flow label must read
        // as an EtherType, which takes an IPv4 packet of 2048 bytes or more (the decoy's source its destination)
        // or an IPv6 payload longer than any jumbo frame.
        var afterSublayer = start + 4;
        var withSublayer = header.Length > afterSublayer ? PlainEthernetIpOffset(header[afterSublayer..]) : -1;
        var withoutSublayer = PlainEthernetIpOffset(header[start..]);
        if (withoutSublayer >= 0 && (withSublayer < 0 || start + withoutSublayer == afterSublayer + withSublayer))
        {
            return Carry(Encapsulation.L2tpv3, EtherTypeBridging, frameOffset + start, declaredLength - start, ref result);
        }

        return withSublayer >= 0
            ? Carry(Encapsulation.L2tpv3, EtherTypeBridging, frameOffset + afterSublayer, declaredLength - afterSublayer, ref result)
            : DecodeError.None;
    }

    /// <summary>
    /// Where the IP header starts when <paramref name="ethernet"/> starts as an Ethernet frame a host sent: a
    /// unicast source MAC (no station sends from a group address), at most two tags, an IPv4 or IPv6 EtherType
    /// and an IP header of that version (an IPv4 header length of at least 20 bytes); else -1. Bytes of a cookie
    /// or sublayer read as MACs shift the frame, putting a word of the MACs where the EtherType would be, which
    /// this rejects.
    /// </summary>
    private static int PlainEthernetIpOffset(ReadOnlySpan<byte> ethernet)
    {
        if (ethernet.Length < 15 || (ethernet[6] & 0x01) != 0)
        {
            return -1;
        }

        var offset = 12;
        var etherType = BinaryPrimitives.ReadUInt16BigEndian(ethernet[offset..]);
        for (var tags = 0; etherType is TpidCustomer or TpidService or TpidLegacyService; tags++)
        {
            offset += 4;
            if (tags == 2 || ethernet.Length < offset + 3)
            {
                return -1;
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(ethernet[offset..]);
        }

        var first = ethernet[offset + 2];
        var carriesIp = etherType switch
        {
            EtherTypeIpv4 => first >> 4 == 4 && (first & 0x0F) >= 5,
            EtherTypeIpv6 => first >> 4 == 6,
            _ => false,
        };
        return carriesIp ? offset + 2 : -1;
    }

    /// <summary>
    /// The PPP frame (RFC 1661) a PPTP or L2TPv2 data message carries: the address and control fields (0xFF
    /// 0x03) when not compressed away, then the protocol field, one octet when compressed (an odd first octet),
    /// else two. IPv4 (0x0021), IPv6 (0x0057) and Van Jacobson uncompressed TCP (0x002F, a connection's first
    /// packet when the link compresses TCP/IP headers) are opened; every other protocol — LCP, IPCP, CCP, Van
    /// Jacobson compressed TCP (0x002D, no addresses in it), and the compressed or MPPE-encrypted datagrams
    /// (0x00FD), which cannot be read — is not IP and is left alone. A
    /// first octet of 0xFF is always the address field: 0x00FF is reserved so that no compressed protocol can
    /// be taken for it. An empty payload carries nothing.
    /// </summary>
    /// <param name="kind">The tunnel carrying the frame.</param>
    /// <param name="ppp">The frame as captured: the rest of the tunnel's packet.</param>
    /// <param name="frameOffset">Where <paramref name="ppp"/> starts in the frame.</param>
    /// <param name="declaredLength">The frame's length on the wire: the rest of the tunnel's packet as its carrier declares it.</param>
    /// <param name="result">Where the tunnel goes.</param>
    private static DecodeError DecodePpp(Encapsulation kind, ReadOnlySpan<byte> ppp, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        if (declaredLength <= 0)
        {
            return DecodeError.None;
        }

        var offset = 0;
        if (ppp.Length > 0 && ppp[0] == 0xFF)
        {
            if (declaredLength < 2)
            {
                return DecodeError.BadPppHeader;
            }

            if (ppp.Length < 2)
            {
                return DecodeError.TruncatedPppHeader;
            }

            if (ppp[1] != 0x03)
            {
                return DecodeError.BadPppHeader;
            }

            offset = 2;
        }

        if (declaredLength <= offset)
        {
            return DecodeError.BadPppHeader;
        }

        if (ppp.Length <= offset)
        {
            return DecodeError.TruncatedPppHeader;
        }

        int protocol = ppp[offset];
        if ((protocol & 0x01) != 0)
        {
            offset++;
        }
        else
        {
            if (declaredLength < offset + 2)
            {
                return DecodeError.BadPppHeader;
            }

            if (ppp.Length < offset + 2)
            {
                return DecodeError.TruncatedPppHeader;
            }

            protocol = (protocol << 8) | ppp[offset + 1];
            if ((protocol & 0x01) == 0)
            {
                return DecodeError.BadPppHeader;
            }

            offset += 2;
        }

        ushort payload = protocol switch
        {
            PppProtocolIpv4 => EtherTypeIpv4,
            PppProtocolIpv6 => EtherTypeIpv6,
            PppProtocolVjUncompressedTcp => PppProtocolVjUncompressedTcp,
            _ => 0,
        };
        return payload == 0
            ? DecodeError.None
            : Carry(kind, payload, frameOffset + offset, declaredLength - offset, ref result);
    }

    /// <summary>
    /// ERSPAN (draft-foschiano-erspan; Linux's include/net/erspan.h). Type I is protocol 0x88BE without a GRE
    /// sequence number and no ERSPAN header; type II is 0x88BE with one and an 8-byte header of version 1 (VLAN,
    /// COS, encapsulation, truncated flag, session id, index); type III is 0x22EB with a 12-byte header of
    /// version 2 (the same first word, a timestamp, SGT, frame type, hardware id, direction, granularity and the
    /// O flag, which adds an 8-byte platform-specific subheader). A type III frame type other than Ethernet (0)
    /// is not opened: the packet is judged as the GRE packet it is. A header of the wrong version, or longer than
    /// the packet declares, is malformed.
    /// </summary>
    /// <param name="protocol">The GRE protocol type.</param>
    /// <param name="sequenced">The GRE header carries a sequence number.</param>
    /// <param name="header">The bytes after the GRE header, as captured.</param>
    /// <param name="frameOffset">Where <paramref name="header"/> starts in the frame.</param>
    /// <param name="declaredLength">The length the GRE packet declares after its header.</param>
    /// <param name="result">Where the tunnel goes.</param>
    private static DecodeError DecodeErspan(ushort protocol, bool sequenced, ReadOnlySpan<byte> header, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        if (protocol == GreProtocolErspan && !sequenced)
        {
            return Carry(Encapsulation.Erspan, EtherTypeBridging, frameOffset, declaredLength, ref result);
        }

        var version = protocol == GreProtocolErspan ? 1 : 2;
        var fixedLength = version == 1 ? 8 : 12;
        if (fixedLength > declaredLength)
        {
            return DecodeError.BadTunnelHeader;
        }

        if (fixedLength > header.Length)
        {
            return DecodeError.TruncatedTunnelHeader;
        }

        var first = BinaryPrimitives.ReadUInt16BigEndian(header);
        if (first >> 12 != version)
        {
            return DecodeError.BadTunnelHeader;
        }

        var headerLength = fixedLength;
        if (version == 2)
        {
            if (((header[10] >> 2) & 0x1F) != 0)
            {
                return DecodeError.None;
            }

            headerLength += (header[11] & 0x01) * 8;
            if (headerLength > declaredLength)
            {
                return DecodeError.BadTunnelHeader;
            }

            if (headerLength > header.Length)
            {
                return DecodeError.TruncatedTunnelHeader;
            }
        }

        var second = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        result.ErspanVlan = (ushort)(first & 0x0FFF);
        result.ErspanSession = (ushort)(second & 0x03FF);
        result.ErspanTruncated = (second & 0x0400) != 0;
        return Carry(Encapsulation.Erspan, EtherTypeBridging, frameOffset + headerLength, declaredLength - headerLength, ref result);
    }

    /// <summary>
    /// An MPLS label stack walked to its bottom-of-stack label (at most <see cref="MaxMplsLabels"/>), then the
    /// packet under it by its first nibble: 4 IPv4, 6 IPv6. A first nibble of 0 is a pseudowire control word
    /// with an Ethernet frame after it: inside a tunnel (<paramref name="insideTunnel"/>) that frame is decoded
    /// as a tunnel's Ethernet payload, placed by the tunnel's ends; on the wire it is not opened — no address
    /// says where the pseudowire's far end is, so the frame inside could name no segment of the site — and the
    /// frame is judged by its tags and MACs. Anything else under the stack is not opened either.
    /// </summary>
    /// <param name="stack">The label stack and what follows, as captured.</param>
    /// <param name="frameOffset">Where <paramref name="stack"/> starts in the frame.</param>
    /// <param name="wireRemaining">The bytes the packet holds from the stack on, on the wire.</param>
    /// <param name="insideTunnel">The stack is a tunnel's payload (GRE, GRE in UDP, MPLS in UDP).</param>
    /// <param name="result">Where the packet under the stack goes.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeError DecodeMpls(ReadOnlySpan<byte> stack, int frameOffset, int wireRemaining, bool insideTunnel, ref DecodedFrame result)
    {
        var offset = 0;
        for (var labels = 0; ; labels++)
        {
            if (labels == MaxMplsLabels)
            {
                return DecodeError.MplsLabelStackTooDeep;
            }

            if (stack.Length < offset + 4)
            {
                return DecodeError.TruncatedMplsLabelStack;
            }

            var bottom = (stack[offset + 2] & 0x01) != 0;
            offset += 4;
            if (bottom)
            {
                break;
            }
        }

        if (stack.Length == offset)
        {
            return DecodeError.None;
        }

        switch (stack[offset] >> 4)
        {
            case 4:
                return DecodeIpv4(stack[offset..], frameOffset + offset, wireRemaining - offset, ref result);
            case 6:
                return DecodeIpv6(stack[offset..], frameOffset + offset, wireRemaining - offset, ref result);
            case 0 when insideTunnel:
                // The control word (four bytes) precedes the emulated Ethernet frame.
                offset += 4;
                return stack.Length < offset
                    ? DecodeError.TruncatedMplsLabelStack
                    : DecodeBridged(stack[offset..], frameOffset + offset, wireRemaining - offset, ref result);
            default:
                return DecodeError.None;
        }
    }

    /// <summary>
    /// VXLAN (RFC 7348) on UDP port 4789 or Linux's default 8472, GENEVE (RFC 8926) on 6081, VXLAN-GPE, GRE in
    /// UDP, MPLS in UDP, and L2TP to or (<see cref="IsL2tpReply"/>) from port 1701 (a datagram to a port of another tunnel is that tunnel's). A
    /// datagram to those ports that does not parse as the protocol (VXLAN without its VNI flag, GENEVE of another
    /// version or payload type, L2TP of another version) is the plain UDP it is; a GENEVE header whose options run
    /// past the datagram is malformed.
    /// </summary>
    /// <param name="payload">The UDP payload captured (at least 8 bytes).</param>
    /// <param name="frameOffset">Where <paramref name="payload"/> starts in the frame.</param>
    /// <param name="declaredLength">The UDP payload length the UDP header declares.</param>
    /// <param name="result">Where the tunnel goes.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodeError DecodeUdpTunnel(ReadOnlySpan<byte> payload, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        switch (result.DestinationPort)
        {
            case VxlanPort or VxlanLinuxPort:
                // The I flag says the VNI is valid; the reserved bits are ignored on receipt (RFC 7348).
                return (payload[0] & 0x08) == 0
                    ? DecodeError.None
                    : Carry(Encapsulation.Vxlan, EtherTypeBridging, frameOffset + 8, declaredLength - 8, ref result);
            case VxlanGpePort:
                return DecodeVxlanGpe(payload, frameOffset, declaredLength, ref result);
            case GreInUdpPort:
                return DecodeGre(Encapsulation.GreInUdp, payload, frameOffset, declaredLength, ref result);
            case MplsInUdpPort:
                return Carry(Encapsulation.MplsInUdp, EtherTypeMplsUnicast, frameOffset, declaredLength, ref result);
            case not GenevePort:
                return DecodeL2tp(payload, frameOffset, declaredLength, ref result);
        }

        if (payload[0] >> 6 != 0)
        {
            return DecodeError.None;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        if (type is not (EtherTypeIpv4 or EtherTypeIpv6 or EtherTypeBridging))
        {
            return DecodeError.None;
        }

        var headerLength = 8 + ((payload[0] & 0x3F) * 4);
        if (headerLength > declaredLength)
        {
            return DecodeError.BadTunnelHeader;
        }

        return headerLength > payload.Length
            ? DecodeError.TruncatedTunnelHeader
            : Carry(Encapsulation.Geneve, type, frameOffset + headerLength, declaredLength - headerLength, ref result);
    }

    /// <summary>
    /// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): version 0 with the VNI (I) and next protocol (P) flags set, as
    /// Linux requires; next protocol 1 IPv4, 2 IPv6, 3 Ethernet. NSH (4) and other payloads are not opened, nor is
    /// a header of another version or without those flags: the datagram is judged as the UDP it is.
    /// </summary>
    private static DecodeError DecodeVxlanGpe(ReadOnlySpan<byte> payload, int frameOffset, int declaredLength, ref DecodedFrame result)
    {
        if ((payload[0] & 0x3C) != 0x0C)
        {
            return DecodeError.None;
        }

        ushort type = payload[3] switch
        {
            1 => EtherTypeIpv4,
            2 => EtherTypeIpv6,
            3 => EtherTypeBridging,
            _ => 0,
        };
        return type == 0
            ? DecodeError.None
            : Carry(Encapsulation.VxlanGpe, type, frameOffset + 8, declaredLength - 8, ref result);
    }

    /// <summary>
    /// Decodes the packet <paramref name="carrier"/> tunnels (<see cref="DecodedFrame.Tunnel"/> set) into
    /// <paramref name="inner"/>, offsets still into <paramref name="frame"/>. The inner packet keeps the
    /// carrier's VLAN stack — it crossed the site's switches inside the carrier, on its VLAN — and, when it is
    /// an IP packet, the carrier's MACs. An Ethernet payload's own tags are walked past, not kept: no switch
    /// of the site saw them. Errors are those of any packet: the addresses, once read, are kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DecodeError DecodeEncapsulated(ReadOnlySpan<byte> frame, in DecodedFrame carrier, ref DecodedFrame inner)
    {
        inner = default;
        inner.SourceMac = carrier.SourceMac;
        inner.DestinationMac = carrier.DestinationMac;
        inner.Vlans = carrier.Vlans;
        inner.VlanCount = carrier.VlanCount;
        inner.VlanHeaders = carrier.VlanHeaders;
        inner.TaggedHeaders = carrier.TaggedHeaders;
        inner.VlanOverflow = carrier.VlanOverflow;
        inner.EtherType = carrier.TunnelPayload == PppProtocolVjUncompressedTcp ? EtherTypeIpv4 : carrier.TunnelPayload;
        // Past the tunnels the path names, a packet keeps the path of the outer ones.
        inner.TunnelPath = carrier.TunnelPath >= 1 << (4 * (MaxTunnelDepth - 1))
            ? carrier.TunnelPath
            : (ushort)((carrier.TunnelPath << 4) | (byte)carrier.Tunnel);
        inner.TunnelSource = carrier.TunnelPath == 0 ? carrier.Source : carrier.TunnelSource;
        inner.TunnelDestination = carrier.TunnelPath == 0 ? carrier.Destination : carrier.TunnelDestination;
        inner.Mirrored = carrier.Mirrored;
        inner.MirrorSource = carrier.MirrorSource;
        inner.MirrorSession = carrier.MirrorSession;

        var bytes = TunnelPayload(frame, in carrier, out var start);

        // A first fragment carries the start of the inner packet and the rest follows in later fragments:
        // what it holds is judged as if the snap length had cut it, not as lengths that lie.
        var wireRemaining = carrier.IsFragment ? int.MaxValue : carrier.TunnelLength;
        return carrier.TunnelPayload switch
        {
            EtherTypeIpv4 => DecodeIpv4(bytes, start, wireRemaining, ref inner),
            PppProtocolVjUncompressedTcp => DecodeIpv4(bytes, start, wireRemaining, ref inner, vanJacobsonTcp: true),
            EtherTypeIpv6 => DecodeIpv6(bytes, start, wireRemaining, ref inner),
            EtherTypeMplsUnicast or EtherTypeMplsMulticast => DecodeMpls(bytes, start, wireRemaining, insideTunnel: true, ref inner),
            _ => DecodeBridged(bytes, start, wireRemaining, ref inner),
        };
    }

    /// <summary>The bytes of the packet <paramref name="carrier"/> tunnels, as captured, and where they start in <paramref name="frame"/>.</summary>
    public static ReadOnlySpan<byte> TunnelPayload(ReadOnlySpan<byte> frame, scoped in DecodedFrame carrier, out int start)
    {
        start = Math.Clamp(carrier.TunnelOffset, 0, frame.Length);
        var end = Math.Clamp(start + Math.Max(carrier.TunnelLength, 0), start, frame.Length);
        return frame[start..end];
    }

    /// <summary>
    /// Decodes the frame an ERSPAN <paramref name="carrier"/> mirrors (<paramref name="mirrored"/>, its bytes from
    /// <see cref="TunnelPayload"/>; offsets then point into them) as if it had been captured on the wire: its own
    /// MACs, tags and packet. Untagged, it takes the VLAN the ERSPAN header names, the port's VLAN the switch saw
    /// it on. A frame the switch cut (the T bit) is judged as if the snap length had cut it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static DecodeError DecodeMirrored(ReadOnlySpan<byte> mirrored, in DecodedFrame carrier, ref DecodedFrame result)
    {
        var wireLength = carrier.ErspanTruncated || carrier.IsFragment ? int.MaxValue : carrier.TunnelLength;
        var error = Decode(mirrored, wireLength, ref result);
        if (result.VlanCount == 0 && carrier.ErspanVlan != 0 && !result.VlanOverflow)
        {
            result.Vlans[0] = carrier.ErspanVlan;
            result.VlanCount = 1;
            result.VlanHeaders++;
            result.TaggedHeaders = 1;
        }

        result.Mirrored = true;
        result.MirrorSource = carrier.TunnelPath == 0 ? carrier.Source : carrier.TunnelSource;
        result.MirrorSession = carrier.ErspanSession;
        return error;
    }

    /// <summary>An Ethernet frame inside a tunnel: its MACs, its tags walked past (bounded), then IPv4 or IPv6.</summary>
    private static DecodeError DecodeBridged(ReadOnlySpan<byte> ethernet, int frameOffset, int wireRemaining, ref DecodedFrame result)
    {
        if (ethernet.Length < 14)
        {
            return DecodeError.TruncatedEthernet;
        }

        result.DestinationMac = ReadMac(ethernet);
        result.SourceMac = ReadMac(ethernet[6..]);
        var offset = 12;
        var etherType = BinaryPrimitives.ReadUInt16BigEndian(ethernet[offset..]);
        for (var headers = 0; etherType is TpidCustomer or TpidService or TpidLegacyService; headers++)
        {
            if (ethernet.Length < offset + 6 || headers == MaxWalkedVlanTags)
            {
                return DecodeError.TruncatedVlanTag;
            }

            offset += 4;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(ethernet[offset..]);
        }

        offset += 2;
        result.EtherType = etherType;
        return etherType switch
        {
            EtherTypeIpv4 => DecodeIpv4(ethernet[offset..], frameOffset + offset, wireRemaining - offset, ref result),
            EtherTypeIpv6 => DecodeIpv6(ethernet[offset..], frameOffset + offset, wireRemaining - offset, ref result),
            _ => DecodeError.None,
        };
    }
}
