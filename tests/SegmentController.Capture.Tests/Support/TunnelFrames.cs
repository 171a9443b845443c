using System.Buffers.Binary;

namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// Tunnel headers for hand-built frames: GRE (with optional checksum, key and sequence number), VXLAN,
/// VXLAN-GPE, GENEVE, ERSPAN types I–III and MPLS label stacks. Like <see cref="Frames"/>, they write exactly what they are told.
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
}
