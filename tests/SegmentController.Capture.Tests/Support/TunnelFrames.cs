using System.Buffers.Binary;

namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// Tunnel headers for hand-built frames: GRE (with optional checksum, key and sequence number), VXLAN,
/// VXLAN-GPE, GENEVE, ERSPAN types I–III, MPLS label stacks, PPTP's enhanced GRE, PPP frames, L2TPv2 and L2TPv3. Like <see cref="Frames"/>, they write exactly what they are told.
/// </summary>
internal static class TunnelFrames
{
    public const ushort EtherTypeIpv4 = 0x0800;
    public const ushort EtherTypeIpv6 = 0x86DD;
    public const ushort EtherTypeBridging = 0x6558;

    /// <summary>A GRE header (RFC 2784/2890) and its payload; <paramref name="flags"/> is the first 16-bit word.</summary>
    public static byte[] Gre(ushort protocolType, ReadOnlySpan<byte> payload, ushort flags = 0)
    {
        var optional = (((flags >> 15) & 1) + ((flags >> 13) & 1) + ((flags >> 12) & 1)) * 4;
        var packet = new byte[4 + optional + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, flags);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), protocolType);
        for (var i = 4; i < 4 + optional; i++)
        {
            packet[i] = 0x5A;
        }

        payload.CopyTo(packet.AsSpan(4 + optional));
        return packet;
    }

    /// <summary>A VXLAN header (RFC 7348) with the VNI flag set unless told otherwise, then the inner frame.</summary>
    public static byte[] Vxlan(int vni, ReadOnlySpan<byte> innerFrame, byte flags = 0x08)
    {
        var packet = new byte[8 + innerFrame.Length];
        packet[0] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), (uint)vni << 8);
        innerFrame.CopyTo(packet.AsSpan(8));
        return packet;
    }

    /// <summary>A GENEVE header (RFC 8926) with <paramref name="optionWords"/> 4-byte words of options.</summary>
    public static byte[] Geneve(int vni, ushort protocolType, ReadOnlySpan<byte> payload, int optionWords = 0, int version = 0)
    {
        var header = 8 + (optionWords * 4);
        var packet = new byte[header + payload.Length];
        packet[0] = (byte)((version << 6) | (optionWords & 0x3F));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), protocolType);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), (uint)vni << 8);
        for (var i = 8; i < header; i++)
        {
            packet[i] = 0xA5;
        }

        payload.CopyTo(packet.AsSpan(header));
        return packet;
    }

    public const ushort GreProtocolErspan = 0x88BE;
    public const ushort GreProtocolErspanIii = 0x22EB;
    public const ushort EtherTypeMpls = 0x8847;

    /// <summary>ERSPAN type I: GRE protocol 0x88BE without a sequence number, then the mirrored frame.</summary>
    public static byte[] ErspanI(ReadOnlySpan<byte> mirrored) => Gre(GreProtocolErspan, mirrored);

    /// <summary>ERSPAN type II: GRE with a sequence number, the 8-byte header (version 1 unless told otherwise), the mirrored frame.</summary>
    public static byte[] ErspanII(int session, int vlan, ReadOnlySpan<byte> mirrored, bool truncated = false, int version = 1, int encapsulation = 0)
    {
        var header = new byte[8 + mirrored.Length];
        BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)((version << 12) | (vlan & 0xFFF)));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)((5 << 13) | ((encapsulation & 3) << 11) | (truncated ? 0x0400 : 0) | (session & 0x3FF)));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 0x000ABCDE);
        mirrored.CopyTo(header.AsSpan(8));
        return Gre(GreProtocolErspan, header, flags: 0x1000);
    }

    /// <summary>
    /// ERSPAN type III: GRE with a sequence number, the 12-byte header (version 2 unless told otherwise; frame type
    /// <paramref name="frameType"/>), the 8-byte platform-specific subheader when <paramref name="platform"/>, the mirrored frame.
    /// </summary>
    public static byte[] ErspanIii(int session, int vlan, ReadOnlySpan<byte> mirrored, bool platform = false, int frameType = 0, int version = 2)
    {
        var length = 12 + (platform ? 8 : 0);
        var header = new byte[length + mirrored.Length];
        BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)((version << 12) | (vlan & 0xFFF)));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)(session & 0x3FF));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 0x12345678);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), 0x0042);
        header[10] = (byte)((frameType & 0x1F) << 2);
        header[11] = (byte)(0x10 | (platform ? 1 : 0));
        for (var i = 12; i < length; i++)
        {
            header[i] = 0xC3;
        }

        mirrored.CopyTo(header.AsSpan(length));
        return Gre(GreProtocolErspanIii, header, flags: 0x1000);
    }

    /// <summary>A VXLAN-GPE header: flags (I and P set unless told otherwise), next protocol, VNI, then the payload.</summary>
    public static byte[] VxlanGpe(int vni, byte nextProtocol, ReadOnlySpan<byte> payload, byte flags = 0x0C)
    {
        var packet = new byte[8 + payload.Length];
        packet[0] = flags;
        packet[3] = nextProtocol;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), (uint)vni << 8);
        payload.CopyTo(packet.AsSpan(8));
        return packet;
    }

    /// <summary>An MPLS label stack (bottom of stack set on the last label), then the payload.</summary>
    public static byte[] Mpls(int[] labels, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[(labels.Length * 4) + payload.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var bottom = i == labels.Length - 1 ? 1u << 8 : 0;
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(i * 4), ((uint)labels[i] << 12) | bottom | 64);
        }

        payload.CopyTo(packet.AsSpan(labels.Length * 4));
        return packet;
    }

    public const ushort PppIpv4 = 0x0021;
    public const ushort PppIpv6 = 0x0057;
    public const ushort PppLcp = 0xC021;
    public const ushort PppCcp = 0x80FD;
    public const ushort PppCompressedDatagram = 0x00FD;

    /// <summary>
    /// A PPP frame: the address and control fields (0xFF 0x03) unless <paramref name="addressControl"/> is false,
    /// the protocol field in one octet when <paramref name="compressProtocol"/>, else two, then the packet.
    /// </summary>
    public static byte[] Ppp(ushort protocol, ReadOnlySpan<byte> packet, bool addressControl = true, bool compressProtocol = false)
    {
        byte[] header = [.. addressControl ? new byte[] { 0xFF, 0x03 } : [], .. compressProtocol ? new[] { (byte)protocol } : [(byte)(protocol >> 8), (byte)protocol]];
        return [.. header, .. packet];
    }

    /// <summary>
    /// PPTP's enhanced GRE header (version 1, protocol 0x880B, key holding the payload length and call id, a
    /// sequence number unless <paramref name="sequenced"/> is false, an acknowledgement number when
    /// <paramref name="acknowledged"/>), then the PPP frame. <paramref name="extraFlags"/> are or-ed into the first word.
    /// </summary>
    public static byte[] Pptp(ReadOnlySpan<byte> ppp, bool sequenced = true, bool acknowledged = false, int? payloadLength = null, ushort extraFlags = 0, ushort protocolType = 0x880B)
    {
        var flags = (ushort)(0x2001 | (sequenced ? 0x1000 : 0) | (acknowledged ? 0x0080 : 0) | extraFlags);
        var header = 8 + (sequenced ? 4 : 0) + (acknowledged ? 4 : 0);
        var packet = new byte[header + ppp.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, flags);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), protocolType);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(payloadLength ?? ppp.Length));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), 0x4D2);
        for (var i = 8; i < header; i++)
        {
            packet[i] = 0x11;
        }

        ppp.CopyTo(packet.AsSpan(header));
        return packet;
    }

    /// <summary>
    /// An L2TPv2 header (RFC 2661): version 2 (or <paramref name="version"/>), the length field when
    /// <paramref name="withLength"/> (the whole message unless <paramref name="length"/> says otherwise), tunnel and
    /// session ids, Ns and Nr when <paramref name="sequenced"/>, an offset size and that much padding when
    /// <paramref name="offsetPad"/> is given, the T bit when <paramref name="control"/>; then the payload.
    /// </summary>
    public static byte[] L2tp(ReadOnlySpan<byte> payload, bool withLength = false, bool sequenced = false, int? offsetPad = null, bool control = false, int? length = null, int version = 2)
    {
        var header = 6 + (withLength ? 2 : 0) + (sequenced ? 4 : 0) + (offsetPad is { } pad ? 2 + pad : 0);
        var packet = new byte[header + payload.Length];
        var flags = (control ? 0x8000 : 0) | (withLength ? 0x4000 : 0) | (sequenced ? 0x0800 : 0) | (offsetPad is null ? 0 : 0x0200) | version;
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)flags);
        var at = 2;
        if (withLength)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)(length ?? packet.Length));
            at += 2;
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), 0x0101);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at + 2), 0x0202);
        at += 4;
        if (sequenced)
        {
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(at), 0x00030004);
            at += 4;
        }

        if (offsetPad is { } size)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)size);
            at += 2;
            packet.AsSpan(at, size).Fill(0xEE);
        }

        payload.CopyTo(packet.AsSpan(header));
        return packet;
    }

    /// <summary>An L2TPv3 header over UDP (RFC 3931): T bit when <paramref name="control"/>, version 3, reserved, session id; then the payload.</summary>
    public static byte[] L2tpv3Udp(uint session, ReadOnlySpan<byte> payload, bool control = false)
    {
        var packet = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)((control ? 0x8000 : 0) | 3));
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), session);
        payload.CopyTo(packet.AsSpan(8));
        return packet;
    }

    /// <summary>An L2TPv3 header over IP protocol 115 (RFC 3931): the session id (0 for a control message), then the payload.</summary>
    public static byte[] L2tpv3Ip(uint session, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(packet, session);
        payload.CopyTo(packet.AsSpan(4));
        return packet;
    }
}
