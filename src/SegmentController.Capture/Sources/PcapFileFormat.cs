using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SegmentController.Capture.Sources;

/// <summary>
/// The classic pcap format (microsecond and nanosecond magic, either byte order), walked in place over
/// a <see cref="FileWindow"/>. Limits follow libpcap: a record may not claim more than
/// <see cref="CaptureFileLimits.MaxFrameLength"/> bytes, and bytes beyond the file's snap length are
/// read but not delivered.
/// </summary>
internal static class PcapFileFormat
{
    public const uint MagicMicroseconds = 0xA1B2C3D4;
    public const uint MagicNanoseconds = 0xA1B23C4D;
    private const int FileHeaderLength = 24;
    private const int RecordHeaderLength = 16;

    /// <summary>Whether the first four bytes of a file are a pcap magic number (either byte order).</summary>
    public static bool IsMagic(uint littleEndian) =>
        littleEndian is MagicMicroseconds or MagicNanoseconds
        || BinaryPrimitives.ReverseEndianness(littleEndian) is MagicMicroseconds or MagicNanoseconds;

    /// <summary>
    /// Delivers every record to <paramref name="sink"/>; returns why reading stopped early (a truncated
    /// or malformed record), or null at a clean end. A bad file header throws.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string? Run(FileWindow window, string path, IFrameSink sink, CancellationToken cancellationToken, ref long frames)
    {
        if (!window.Ensure(FileHeaderLength))
        {
            throw new CaptureSourceException($"{path}: not a readable pcap or pcapng file (the pcap file header is truncated)");
        }

        var header = window.Data[..FileHeaderLength];
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var swapped = magic is not (MagicMicroseconds or MagicNanoseconds);
        var nanoseconds = (swapped ? BinaryPrimitives.ReverseEndianness(magic) : magic) == MagicNanoseconds;
        var major = Read16(header[4..], swapped);
        if (major != 2)
        {
            throw new CaptureSourceException(string.Create(CultureInfo.InvariantCulture, $"{path}: not a readable pcap or pcapng file (pcap version {major} is not supported)"));
        }

        var snapLength = Read32(header[16..], swapped);
        var linkType = Read32(header[20..], swapped) & 0x03FF_FFFF;
        if (linkType != PcapFrameReader.LinkTypeEthernet)
        {
            throw new CaptureSourceException(string.Create(CultureInfo.InvariantCulture, $"{path}: link type {linkType} is not Ethernet"));
        }

        // As libpcap: a snap length of 0 or beyond the maximum means "the maximum".
        var snapshot = snapLength is 0 or > CaptureFileLimits.MaxFrameLength ? CaptureFileLimits.MaxFrameLength : (int)snapLength;
        var fractionToTicks = nanoseconds ? 0 : 10;
        window.Advance(FileHeaderLength);

        var data = window.Data;
        var offset = 0;
        var sinceCheck = 0;
        while (true)
        {
            if (data.Length - offset < RecordHeaderLength)
            {
                window.Advance(offset);
                offset = 0;
                if (!window.Ensure(RecordHeaderLength))
                {
                    return window.Data.Length == 0 ? null : Truncated(path, window, frames, RecordHeaderLength, window.Data.Length);
                }

                data = window.Data;
            }

            var record = data[offset..];
            uint seconds, fraction, captured, wire;
            if (swapped)
            {
                seconds = BinaryPrimitives.ReadUInt32BigEndian(record);
                fraction = BinaryPrimitives.ReadUInt32BigEndian(record[4..]);
                captured = BinaryPrimitives.ReadUInt32BigEndian(record[8..]);
                wire = BinaryPrimitives.ReadUInt32BigEndian(record[12..]);
            }
            else
            {
                seconds = BinaryPrimitives.ReadUInt32LittleEndian(record);
                fraction = BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
                captured = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
                wire = BinaryPrimitives.ReadUInt32LittleEndian(record[12..]);
            }

            if (captured > CaptureFileLimits.MaxFrameLength)
            {
                window.Advance(offset);
                return string.Create(CultureInfo.InvariantCulture, $"{path}: record {frames + 1} at offset {window.Position} claims {captured} captured bytes, more than the maximum of {CaptureFileLimits.MaxFrameLength}");
            }

            var total = RecordHeaderLength + (int)captured;
            if (record.Length < total)
            {
                window.Advance(offset);
                offset = 0;
                if (!window.Ensure(total))
                {
                    return Truncated(path, window, frames, total, window.Data.Length);
                }

                data = window.Data;
                record = data;
            }

            var ticks = DateTime.UnixEpoch.Ticks + (seconds * TimeSpan.TicksPerSecond) + (fractionToTicks == 0 ? fraction / 100 : (long)fraction * fractionToTicks);
            var delivered = Math.Min((int)captured, snapshot);
            frames++;
            sink.OnFrame(record.Slice(RecordHeaderLength, delivered), (int)Math.Min(wire, int.MaxValue), ticks);
            offset += total;

            // Checking the token every frame would cost more than the frame; every 4096 is prompt enough.
            if (++sinceCheck == 4096)
            {
                sinceCheck = 0;
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    private static string Truncated(string path, FileWindow window, long frames, int wanted, int got) =>
        string.Create(CultureInfo.InvariantCulture, $"{path}: truncated record {frames + 1} at offset {window.Position}: needs {wanted} bytes, the file has {got}");

    private static ushort Read16(ReadOnlySpan<byte> bytes, bool swapped) =>
        swapped ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes);

    private static uint Read32(ReadOnlySpan<byte> bytes, bool swapped) =>
        swapped ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);
}
