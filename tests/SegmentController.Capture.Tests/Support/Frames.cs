using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// Byte-level frame builders for the labelled corpus. They write exactly what they are told —
/// including lies — so hostile cases are as easy to build as clean ones.
/// </summary>
internal static class Frames
{
    public static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    public static byte[] Mac(string text) => Convert.FromHexString(text.Replace(":", "", StringComparison.Ordinal));

    /// <summary>An Ethernet II frame with 802.1Q tags (outer first) and the given TPID for every tag.</summary>
    public static byte[] Ethernet(byte[] dst, byte[] src, int[] vlans, ushort etherType, ReadOnlySpan<byte> payload, ushort tpid = 0x8100, ushort[]? tpids = null)
    {
        var frame = new byte[14 + (4 * vlans.Length) + payload.Length];
        dst.CopyTo(frame, 0);
        src.CopyTo(frame, 6);
        var offset = 12;
        for (var i = 0; i < vlans.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), tpids?[i] ?? tpid);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset + 2), (ushort)vlans[i]);
            offset += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), etherType);
        payload.CopyTo(frame.AsSpan(offset + 2));
        return frame;
    }

    public static byte[] Ipv4(string src, string dst, byte protocol, ReadOnlySpan<byte> payload, byte[]? options = null, ushort flagsFragment = 0x4000, int? totalLengthOverride = null)
    {
        options ??= [];
        var headerLength = 20 + options.Length;
        var packet = new byte[headerLength + payload.Length];
        packet[0] = (byte)(0x40 | (headerLength / 4));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)(totalLengthOverride ?? packet.Length));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), flagsFragment);
        packet[8] = 64;
        packet[9] = protocol;
        IPAddress.Parse(src).TryWriteBytes(packet.AsSpan(12), out _);
        IPAddress.Parse(dst).TryWriteBytes(packet.AsSpan(16), out _);
        options.CopyTo(packet, 20);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Checksum(packet.AsSpan(0, headerLength)));
        payload.CopyTo(packet.AsSpan(headerLength));
        return packet;
    }

    /// <summary>IPv6 with optional extension headers given as (type, body) — body padded to 8-byte units.</summary>
    public static byte[] Ipv6(string src, string dst, byte protocol, ReadOnlySpan<byte> payload, (byte Type, byte[] Body)[]? extensions = null, int? payloadLengthOverride = null)
    {
        extensions ??= [];
        var extensionBytes = new List<byte>();
        for (var i = 0; i < extensions.Length; i++)
        {
            var next = i + 1 < extensions.Length ? extensions[i + 1].Type : protocol;
            var body = extensions[i].Body;
            if (extensions[i].Type == 44)
            {
                extensionBytes.Add(next);
                extensionBytes.Add(0);
                extensionBytes.AddRange(body.AsSpan(0, 6).ToArray());
                continue;
            }

            var total = (body.Length + 2 + 7) / 8 * 8;
            extensionBytes.Add(next);
            extensionBytes.Add((byte)((total / 8) - 1));
            extensionBytes.AddRange(body);
            extensionBytes.AddRange(new byte[total - 2 - body.Length]);
        }

        var packet = new byte[40 + extensionBytes.Count + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(payloadLengthOverride ?? (packet.Length - 40)));
        packet[6] = extensions.Length > 0 ? extensions[0].Type : protocol;
        packet[7] = 64;
        IPAddress.Parse(src).TryWriteBytes(packet.AsSpan(8), out _);
        IPAddress.Parse(dst).TryWriteBytes(packet.AsSpan(24), out _);
        extensionBytes.CopyTo(packet, 40);
        payload.CopyTo(packet.AsSpan(40 + extensionBytes.Count));
        return packet;
    }

    public static byte[] Tcp(ushort srcPort, ushort dstPort, byte flags, ReadOnlySpan<byte> payload, int optionsLength = 0, uint sequence = 1000)
    {
        var headerLength = 20 + optionsLength;
        var segment = new byte[headerLength + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), sequence);
        segment[12] = (byte)((headerLength / 4) << 4);
        segment[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), 65535);
        for (var i = 20; i < headerLength; i++)
        {
            segment[i] = 1;
        }

        payload.CopyTo(segment.AsSpan(headerLength));
        return segment;
    }

    public static byte[] Udp(ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload, int? lengthOverride = null)
    {
        var datagram = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(datagram, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), (ushort)(lengthOverride ?? datagram.Length));
        payload.CopyTo(datagram.AsSpan(8));
        return datagram;
    }

    public static byte[] Icmp(byte type, byte code, int bodyLength = 12)
    {
        var message = new byte[4 + bodyLength];
        message[0] = type;
        message[1] = code;
        return message;
    }

    public static byte[] Arp(ushort operation, byte[] senderMac, string senderIp, byte[] targetMac, string targetIp)
    {
        var arp = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(2), 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), operation);
        senderMac.CopyTo(arp, 8);
        IPAddress.Parse(senderIp).TryWriteBytes(arp.AsSpan(14), out _);
        targetMac.CopyTo(arp, 18);
        IPAddress.Parse(targetIp).TryWriteBytes(arp.AsSpan(24), out _);
        return arp;
    }

    /// <summary>A TLS record holding a ClientHello with optional SNI and supported_versions.</summary>
    public static byte[] ClientHello(ushort legacyVersion, string? sni, ushort[]? supportedVersions, ushort recordVersion = 0x0301)
    {
        var body = new List<byte>();
        AddU16(body, legacyVersion);
        body.AddRange(new byte[32]);
        body.Add(0);
        AddU16(body, 4);
        AddU16(body, 0x1301);
        AddU16(body, 0xc02f);
        body.Add(1);
        body.Add(0);
        var extensions = new List<byte>();
        AddU16(extensions, 0x0a0a);
        AddU16(extensions, 0);
        if (sni is not null)
        {
            var name = Encoding.ASCII.GetBytes(sni);
            AddU16(extensions, 0);
            AddU16(extensions, (ushort)(name.Length + 5));
            AddU16(extensions, (ushort)(name.Length + 3));
            extensions.Add(0);
            AddU16(extensions, (ushort)name.Length);
            extensions.AddRange(name);
        }

        if (supportedVersions is not null)
        {
            AddU16(extensions, 43);
            AddU16(extensions, (ushort)((supportedVersions.Length * 2) + 1));
            extensions.Add((byte)(supportedVersions.Length * 2));
            foreach (var version in supportedVersions)
            {
                AddU16(extensions, version);
            }
        }

        AddU16(body, (ushort)extensions.Count);
        body.AddRange(extensions);
        return Record(1, body, recordVersion);
    }

    public static byte[] ServerHello(ushort legacyVersion, ushort? supportedVersion)
    {
        var body = new List<byte>();
        AddU16(body, legacyVersion);
        body.AddRange(new byte[32]);
        body.Add(0);
        AddU16(body, 0x1301);
        body.Add(0);
        var extensions = new List<byte>();
        if (supportedVersion is { } version)
        {
            AddU16(extensions, 43);
            AddU16(extensions, 2);
            AddU16(extensions, version);
        }

        AddU16(body, (ushort)extensions.Count);
        body.AddRange(extensions);
        return Record(2, body, 0x0303);
    }

    private static byte[] Record(byte handshakeType, List<byte> body, ushort recordVersion)
    {
        var record = new List<byte> { 22 };
        AddU16(record, recordVersion);
        AddU16(record, (ushort)(body.Count + 4));
        record.Add(handshakeType);
        record.Add((byte)(body.Count >> 16));
        record.Add((byte)(body.Count >> 8));
        record.Add((byte)body.Count);
        record.AddRange(body);
        return record.ToArray();
    }

    private static void AddU16(List<byte> bytes, ushort value)
    {
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }

    private static ushort Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < header.Length; i += 2)
        {
            if (i != 10)
            {
                sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
            }
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
