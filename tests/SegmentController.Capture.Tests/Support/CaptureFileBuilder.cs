using System.Buffers.Binary;

namespace SegmentController.Capture.Tests.Support;

/// <summary>Builds pcap and pcapng files byte by byte, including the malformed ones the readers must survive.</summary>
internal static class CaptureFileBuilder
{
    public static byte[] PcapHeader(bool bigEndian = false, bool nanoseconds = false, uint snapLength = 65535, uint linkType = 1, ushort major = 2)
    {
        var header = new byte[24];
        Write32(header, 0, nanoseconds ? 0xA1B23C4D : 0xA1B2C3D4, bigEndian);
        Write16(header, 4, major, bigEndian);
        Write16(header, 6, 4, bigEndian);
        Write32(header, 16, snapLength, bigEndian);
        Write32(header, 20, linkType, bigEndian);
        return header;
    }

    public static byte[] PcapRecord(uint seconds, uint fraction, byte[] data, bool bigEndian = false, uint? capturedOverride = null, uint? wireOverride = null)
    {
        var record = new byte[16 + data.Length];
        Write32(record, 0, seconds, bigEndian);
        Write32(record, 4, fraction, bigEndian);
        Write32(record, 8, capturedOverride ?? (uint)data.Length, bigEndian);
        Write32(record, 12, wireOverride ?? (uint)data.Length, bigEndian);
        data.CopyTo(record, 16);
        return record;
    }

    public static byte[] SectionHeader(bool bigEndian = false)
    {
        var body = new byte[16];
        Write32(body, 0, 0x1A2B3C4D, bigEndian);
        Write16(body, 4, 1, bigEndian);
        Write16(body, 6, 0, bigEndian);
        Write64(body, 8, ulong.MaxValue, bigEndian);
        return Block(0x0A0D0D0A, body, bigEndian);
    }

    /// <summary>An interface description; <paramref name="resolution"/> is if_tsresol (null: the default, microseconds).</summary>
    public static byte[] InterfaceDescription(ushort linkType = 1, uint snapLength = 65535, byte? resolution = null, bool bigEndian = false)
    {
        var body = new List<byte>();
        var fixedPart = new byte[8];
        Write16(fixedPart, 0, linkType, bigEndian);
        Write32(fixedPart, 4, snapLength, bigEndian);
        body.AddRange(fixedPart);
        if (resolution is { } r)
        {
            var option = new byte[8];
            Write16(option, 0, 9, bigEndian);
            Write16(option, 2, 1, bigEndian);
            option[4] = r;
            body.AddRange(option);
            body.AddRange(new byte[4]);
        }

        return Block(1, [.. body], bigEndian);
    }

    public static byte[] EnhancedPacket(uint interfaceId, ulong timestamp, byte[] data, bool bigEndian = false, uint? capturedOverride = null)
    {
        var body = new byte[20 + Pad(data.Length)];
        Write32(body, 0, interfaceId, bigEndian);
        Write32(body, 4, (uint)(timestamp >> 32), bigEndian);
        Write32(body, 8, (uint)timestamp, bigEndian);
        Write32(body, 12, capturedOverride ?? (uint)data.Length, bigEndian);
        Write32(body, 16, (uint)data.Length, bigEndian);
        data.CopyTo(body, 20);
        return Block(6, body, bigEndian);
    }

    public static byte[] SimplePacket(byte[] data, bool bigEndian = false)
    {
        var body = new byte[4 + Pad(data.Length)];
        Write32(body, 0, (uint)data.Length, bigEndian);
        data.CopyTo(body, 4);
        return Block(3, body, bigEndian);
    }

    public static byte[] Block(uint type, byte[] body, bool bigEndian = false, uint? lengthOverride = null)
    {
        var length = 12 + Pad(body.Length);
        var block = new byte[length];
        Write32(block, 0, type, bigEndian);
        Write32(block, 4, lengthOverride ?? (uint)length, bigEndian);
        body.CopyTo(block, 8);
        Write32(block, length - 4, lengthOverride ?? (uint)length, bigEndian);
        return block;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static int Pad(int length) => (length + 3) & ~3;

    private static void Write16(byte[] buffer, int offset, ushort value, bool bigEndian)
    {
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(offset), value);
        }
    }

    private static void Write32(byte[] buffer, int offset, uint value, bool bigEndian)
    {
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(offset), value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(offset), value);
        }
    }

    private static void Write64(byte[] buffer, int offset, ulong value, bool bigEndian)
    {
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(offset), value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(offset), value);
        }
    }
}
