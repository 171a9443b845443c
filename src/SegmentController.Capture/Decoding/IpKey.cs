using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace SegmentController.Capture.Decoding;

/// <summary>
/// An IPv4 or IPv6 address as two 64-bit halves, so the hot path compares and hashes addresses without
/// allocating. IPv4 is held in its IPv4-mapped IPv6 form (::ffff:a.b.c.d).
/// </summary>
internal readonly record struct IpKey(ulong Hi, ulong Lo)
{
    private const ulong V4MappedPrefix = 0x0000_FFFFUL << 32;

    public bool IsV4 => Hi == 0 && (Lo & 0xFFFF_FFFF_0000_0000UL) == V4MappedPrefix;

    public bool IsEmpty => Hi == 0 && Lo == 0;

    /// <summary>The IPv4 address in host order (meaningful only when <see cref="IsV4"/>).</summary>
    public uint V4 => (uint)Lo;

    public UInt128 V6 => new(Hi, Lo);

    public static IpKey FromV4(uint address) => new(0, V4MappedPrefix | address);

    public static IpKey FromV6(ReadOnlySpan<byte> sixteen) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(sixteen), BinaryPrimitives.ReadUInt64BigEndian(sixteen[8..]));

    public static IpKey From(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return FromV4(BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        address.TryWriteBytes(bytes, out _);
        return FromV6(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, V4);
            return new IPAddress(bytes[..4]);
        }

        BinaryPrimitives.WriteUInt64BigEndian(bytes, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], Lo);
        return new IPAddress(bytes);
    }

    public override string ToString() => ToIPAddress().ToString();
}
