using System.Buffers.Binary;

namespace SegmentController.Capture.Evidence;

/// <summary>
/// Writes classic pcap (microsecond timestamps, Ethernet link type). The format is small enough to
/// write by hand, which keeps evidence files independent of a libpcap handle.
/// </summary>
internal static class PcapWriter
{
    private const uint Magic = 0xA1B2C3D4;
    private const int LinkTypeEthernet = 1;

    public static void Write(Stream stream, IEnumerable<EvidenceFrame> frames, int snapLength = 65535)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(frames);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], snapLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], LinkTypeEthernet);
        stream.Write(header);
        Span<byte> record = stackalloc byte[16];
        foreach (var frame in frames)
        {
            var sinceEpoch = frame.TimestampTicks - DateTime.UnixEpoch.Ticks;
            var seconds = sinceEpoch / TimeSpan.TicksPerSecond;
            var micros = sinceEpoch % TimeSpan.TicksPerSecond / 10;
            var captured = Math.Min(frame.Data.Length, snapLength);
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)seconds);
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)micros);
            BinaryPrimitives.WriteInt32LittleEndian(record[8..], captured);
            BinaryPrimitives.WriteInt32LittleEndian(record[12..], Math.Max(frame.WireLength, captured));
            stream.Write(record);
            stream.Write(frame.Data.AsSpan(0, captured));
        }
    }

    public static void WriteFile(string path, IEnumerable<EvidenceFrame> frames)
    {
        using var stream = File.Create(path);
        Write(stream, frames);
    }
}
