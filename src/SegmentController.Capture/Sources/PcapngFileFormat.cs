using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SegmentController.Capture.Sources;

/// <summary>
/// The pcapng format, walked block by block in place over a <see cref="FileWindow"/>: section headers
/// (either byte order, several sections), interface descriptions (link type, snap length, if_tsresol,
/// if_tsoffset), enhanced, simple and obsolete packet blocks; every other block is skipped. Every
/// length is checked against its block before use.
/// </summary>
internal static class PcapngFileFormat
{
    public const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const uint InterfaceDescriptionType = 1;
    private const uint ObsoletePacketType = 2;
    private const uint SimplePacketType = 3;
    private const uint EnhancedPacketType = 6;
    private const ushort OptionEnd = 0;
    private const ushort OptionTimestampResolution = 9;
    private const ushort OptionTimestampOffset = 14;
    private const int MinBlockLength = 12;

    /// <summary>
    /// Delivers every packet to <paramref name="sink"/>; returns why reading stopped early (a truncated
    /// or malformed block), or null at a clean end. A file that does not start with a section header throws.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string? Run(FileWindow window, string path, IFrameSink sink, CancellationToken cancellationToken, ref long frames)
    {
        var interfaces = new List<Interface>();
        var swapped = false;
        var sections = 0;
        var lastTicks = DateTime.UnixEpoch.Ticks;
        var sinceCheck = 0;
        while (true)
        {
            if (!window.Ensure(MinBlockLength))
            {
                if (window.Data.Length == 0 && sections > 0)
                {
                    return null;
                }

                if (sections == 0)
                {
                    throw NotPcapng(path, "the section header is truncated");
                }

                return Problem(path, window, frames, $"truncated block header ({window.Data.Length} of {MinBlockLength} bytes)");
            }

            var head = window.Data;
            var type = BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (type == SectionHeaderType)
            {
                var order = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
                if (order == ByteOrderMagic)
                {
                    swapped = false;
                }
                else if (BinaryPrimitives.ReverseEndianness(order) == ByteOrderMagic)
                {
                    swapped = true;
                }
                else if (sections == 0)
                {
                    throw NotPcapng(path, "the section header has no byte-order magic");
                }
                else
                {
                    return Problem(path, window, frames, "a section header has no byte-order magic");
                }
            }
            else if (sections == 0)
            {
                throw NotPcapng(path, "it does not start with a section header");
            }
            else if (swapped)
            {
                type = BinaryPrimitives.ReverseEndianness(type);
            }

            var length = Read32(head[4..], swapped);
            if (length < MinBlockLength || length % 4 != 0 || length > CaptureFileLimits.MaxBlockLength)
            {
                var why = string.Create(CultureInfo.InvariantCulture, $"block of type 0x{type:x8} has an invalid length {length}");
                return sections == 0 ? throw NotPcapng(path, why) : Problem(path, window, frames, why);
            }

            if (!window.Ensure((int)length))
            {
                var why = string.Create(CultureInfo.InvariantCulture, $"truncated block of type 0x{type:x8}: needs {length} bytes, the file has {window.Data.Length}");
                return sections == 0 ? throw NotPcapng(path, why) : Problem(path, window, frames, why);
            }

            var block = window.Data[..(int)length];
            var body = block[8..^4];
            string? problem = null;
            switch (type)
            {
                case SectionHeaderType:
                    if (body.Length < 16 || Read16(body[4..], swapped) != 1)
                    {
                        problem = "unsupported section header (version or length)";
                        if (sections == 0)
                        {
                            throw NotPcapng(path, problem);
                        }

                        break;
                    }

                    sections++;
                    interfaces.Clear();
                    break;

                case InterfaceDescriptionType:
                    problem = AddInterface(body, swapped, interfaces);
                    if (problem is null && interfaces[^1].LinkType != PcapFrameReader.LinkTypeEthernet)
                    {
                        throw new CaptureSourceException(string.Create(CultureInfo.InvariantCulture, $"{path}: interface {interfaces.Count - 1} has link type {interfaces[^1].LinkType}, which is not Ethernet"));
                    }

                    break;

                case EnhancedPacketType:
                case ObsoletePacketType:
                    problem = DeliverPacket(type, body, swapped, interfaces, sink, ref frames, ref lastTicks);
                    break;

                case SimplePacketType:
                    problem = DeliverSimplePacket(body, swapped, interfaces, sink, ref frames, lastTicks);
                    break;

                default:
                    break;
            }

            if (problem is not null)
            {
                return Problem(path, window, frames, problem);
            }

            window.Advance((int)length);
            if (++sinceCheck == 4096)
            {
                sinceCheck = 0;
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    private static string? AddInterface(ReadOnlySpan<byte> body, bool swapped, List<Interface> interfaces)
    {
        if (body.Length < 8)
        {
            return "interface description shorter than 8 bytes";
        }

        if (interfaces.Count >= CaptureFileLimits.MaxInterfaces)
        {
            return string.Create(CultureInfo.InvariantCulture, $"more than {CaptureFileLimits.MaxInterfaces} interfaces in one section");
        }

        var linkType = Read16(body, swapped);
        var snapLength = Read32(body[4..], swapped);
        byte resolution = 6;
        long offsetSeconds = 0;
        var options = body[8..];
        while (options.Length >= 4)
        {
            var code = Read16(options, swapped);
            var length = Read16(options[2..], swapped);
            if (code == OptionEnd)
            {
                break;
            }

            var padded = (length + 3) & ~3;
            if (4 + padded > options.Length)
            {
                return "interface description option runs past its block";
            }

            var value = options.Slice(4, length);
            if (code == OptionTimestampResolution && length >= 1)
            {
                resolution = value[0];
            }
            else if (code == OptionTimestampOffset && length >= 8)
            {
                offsetSeconds = (long)Read64(value, swapped);
            }

            options = options[(4 + padded)..];
        }

        var snapshot = snapLength is 0 or > CaptureFileLimits.MaxFrameLength ? CaptureFileLimits.MaxFrameLength : (int)snapLength;
        interfaces.Add(new Interface(linkType, snapshot, resolution, offsetSeconds));
        return null;
    }

    private static string? DeliverPacket(uint type, ReadOnlySpan<byte> body, bool swapped, List<Interface> interfaces, IFrameSink sink, ref long frames, ref long lastTicks)
    {
        int interfaceId;
        uint high, low, captured, wire;
        int fixedLength;
        if (type == EnhancedPacketType)
        {
            fixedLength = 20;
            if (body.Length < fixedLength)
            {
                return "enhanced packet block shorter than its fixed fields";
            }

            interfaceId = (int)Math.Min(Read32(body, swapped), int.MaxValue);
        }
        else
        {
            fixedLength = 20;
            if (body.Length < fixedLength)
            {
                return "packet block shorter than its fixed fields";
            }

            interfaceId = Read16(body, swapped);
        }

        high = Read32(body[4..], swapped);
        low = Read32(body[8..], swapped);
        captured = Read32(body[12..], swapped);
        wire = Read32(body[16..], swapped);
        if (interfaceId >= interfaces.Count)
        {
            return string.Create(CultureInfo.InvariantCulture, $"packet refers to interface {interfaceId}, but the section describes {interfaces.Count}");
        }

        if (captured > (uint)(body.Length - fixedLength))
        {
            return string.Create(CultureInfo.InvariantCulture, $"packet claims {captured} captured bytes, more than its block holds ({body.Length - fixedLength})");
        }

        var description = interfaces[interfaceId];
        var ticks = description.Ticks(((ulong)high << 32) | low);
        lastTicks = ticks;
        frames++;
        sink.OnFrame(body.Slice(fixedLength, Math.Min((int)captured, description.Snapshot)), (int)Math.Min(wire, int.MaxValue), ticks);
        return null;
    }

    /// <summary>A simple packet block has no timestamp: it takes the previous packet's, keeping time monotonic.</summary>
    private static string? DeliverSimplePacket(ReadOnlySpan<byte> body, bool swapped, List<Interface> interfaces, IFrameSink sink, ref long frames, long lastTicks)
    {
        if (body.Length < 4)
        {
            return "simple packet block shorter than its fixed fields";
        }

        if (interfaces.Count == 0)
        {
            return "simple packet block before any interface description";
        }

        var wire = Read32(body, swapped);
        var captured = (int)Math.Min(Math.Min(wire, (uint)(body.Length - 4)), (uint)interfaces[0].Snapshot);
        frames++;
        sink.OnFrame(body.Slice(4, captured), (int)Math.Min(wire, int.MaxValue), lastTicks);
        return null;
    }

    private static CaptureSourceException NotPcapng(string path, string why) =>
        new($"{path}: not a readable pcap or pcapng file ({why})");

    private static string Problem(string path, FileWindow window, long frames, string why) =>
        string.Create(CultureInfo.InvariantCulture, $"{path}: block at offset {window.Position} (after frame {frames}): {why}");

    private static ushort Read16(ReadOnlySpan<byte> bytes, bool swapped) =>
        swapped ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes);

    private static uint Read32(ReadOnlySpan<byte> bytes, bool swapped) =>
        swapped ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    private static ulong Read64(ReadOnlySpan<byte> bytes, bool swapped) =>
        swapped ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);

    /// <summary>One interface description: what its packets need to be delivered.</summary>
    private readonly record struct Interface(ushort LinkType, int Snapshot, byte Resolution, long OffsetSeconds)
    {
        private static readonly long MaxTicks = DateTime.MaxValue.Ticks;

        /// <summary>UTC ticks of a timestamp in this interface's units, clamped to what a DateTime holds.</summary>
        public long Ticks(ulong units)
        {
            // The common case (microseconds, no offset) without 128-bit arithmetic.
            if (Resolution == 6 && OffsetSeconds == 0 && units < (ulong)(MaxTicks - DateTime.UnixEpoch.Ticks) / 10)
            {
                return DateTime.UnixEpoch.Ticks + ((long)units * 10);
            }

            UInt128 ticks;
            var exponent = Resolution & 0x7F;
            if ((Resolution & 0x80) != 0)
            {
                // 2^-exponent seconds per unit.
                ticks = exponent >= 64 ? UInt128.Zero : ((UInt128)units * (ulong)TimeSpan.TicksPerSecond) >> exponent;
            }
            else if (exponent <= 7)
            {
                ticks = (UInt128)units * Pow10(7 - exponent);
            }
            else
            {
                ticks = exponent - 7 > 19 ? UInt128.Zero : units / Pow10(exponent - 7);
            }

            var offset = (Int128)OffsetSeconds * TimeSpan.TicksPerSecond;
            var total = (Int128)DateTime.UnixEpoch.Ticks + (Int128)ticks + offset;
            return total < 0 ? 0 : total > MaxTicks ? MaxTicks : (long)total;
        }

        private static ulong Pow10(int exponent)
        {
            var value = 1UL;
            for (var i = 0; i < exponent; i++)
            {
                value *= 10;
            }

            return value;
        }
    }
}
