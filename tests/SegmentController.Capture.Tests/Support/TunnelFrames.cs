using System.Buffers.Binary;

namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// Tunnel headers for hand-built frames: GRE (with optional checksum, key and sequence number), VXLAN and
/// GENEVE. Like <see cref="Frames"/>, they write exactly what they are told.
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
}
