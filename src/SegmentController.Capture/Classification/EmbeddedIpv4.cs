using System.Runtime.CompilerServices;
using SegmentController.Capture.Decoding;

namespace SegmentController.Capture.Classification;

/// <summary>
/// The IPv4 addresses an IPv6 address carries inside it, by the transition mechanisms that route such an
/// address to (or from) the IPv4 host it names. IPv4-mapped addresses (::ffff:a.b.c.d) are not here:
/// <see cref="IpKey"/> holds them as the IPv4 address itself.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>IPv4-compatible, ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated, still routed by some stacks), and
/// IPv4-translated, ::ffff:0:a.b.c.d (RFC 2765 SIIT).</item>
/// <item>NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the address in the last 32 bits.</item>
/// <item>NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215). RFC 8215 reserves the /48 and leaves the
/// translation prefix inside it to the operator; the address sits where RFC 6052 §2.2 puts it for that
/// prefix length (/48, /56, /64 or /96 — bits 64–71 always zero, the bits after the address zero), which
/// the policy does not say. The shortest layout whose trailing bits are all zero is taken: a longer one
/// fits the same bits only when its IPv4 address ends in a zero octet, a network address rather than a
/// host.</item>
/// <item>6to4, 2002:AABB:CCDD::/48 (RFC 3056): the address of the 6to4 router whose site the /48 is.</item>
/// <item>ISATAP interface ids ::0:5efe:a.b.c.d and ::200:5efe:a.b.c.d (RFC 5214): the host's own address,
/// in the IPv4 plan of the site the prefix belongs to — ISATAP is intra-site, its addresses mostly private.
/// Read only where that site is this one: under the link-local prefix, and under a 6to4 prefix, tried
/// before the router the prefix names (<see cref="PolicyIndex"/> takes it only when the policy holds that
/// router: a client's or the site's infrastructure). Under any other prefix the policy does not hold it names another site's host, whose private
/// address says nothing of this site's clients.</item>
/// <item>Teredo, 2001:0::/32 (RFC 4380): the client's mapped address, stored inverted (the "obfuscation" is a
/// bitwise NOT, no secret). A relay delivers to that address, so a client subnet that holds it names
/// the host the packet reaches; the server address (bits 32–63) is not an end of the packet and is not
/// read. Behind a NAT the mapped address is the NAT's outside address, which a client's private subnets
/// do not hold, and the address stays unknown as before.</item>
/// </list>
/// Addresses in 0.0.0.0/8 (::, ::1 and the like read as IPv4-compatible) name no host and are not read.
/// </remarks>
internal static class EmbeddedIpv4
{
    /// <summary>The most readings one address yields (an ISATAP id under a 6to4 prefix, then the 6to4 router).</summary>
    public const int MaxReadings = 2;

    private const ulong NatWellKnown = 0x0064_FF9B_0000_0000UL;
    private const ulong NatLocalUse48 = 0x0064_FF9B_0001UL;
    private const ulong SixToFour16 = 0x2002UL;
    private const ulong LinkLocal10 = 0x3FAUL;
    private const ulong Teredo32 = 0x2001_0000UL;
    private const ulong IsatapLocal = 0x0000_5EFEUL;
    private const ulong IsatapGlobal = 0x0200_5EFEUL;
    private const ulong Translated = 0xFFFF_0000UL;

    /// <summary>
    /// Writes the IPv4 addresses (host order) embedded in <paramref name="address"/>, the host's own
    /// first, into <paramref name="readings"/> (at least <see cref="MaxReadings"/> long); returns how many.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Read(IpKey address, Span<uint> readings)
    {
        if (address.IsV4)
        {
            return 0;
        }

        var hi = address.Hi;
        var lo = address.Lo;
        var interfaceIdHigh = lo >> 32;
        var count = 0;
        if (hi == 0)
        {
            if (interfaceIdHigh is 0 or Translated)
            {
                Add(readings, ref count, (uint)lo);
                return count;
            }
        }
        else if (hi == NatWellKnown)
        {
            if (interfaceIdHigh == 0)
            {
                Add(readings, ref count, (uint)lo);
            }

            return count;
        }
        else if (hi >> 16 == NatLocalUse48)
        {
            if (TryReadLocalUse(hi, lo, out var embedded))
            {
                Add(readings, ref count, embedded);
            }

            return count;
        }
        else if (hi >> 32 == Teredo32)
        {
            Add(readings, ref count, ~(uint)lo);
            return count;
        }

        var sixToFourRouter = hi >> 48 == SixToFour16 ? (uint)(hi >> 16) : 0;
        if (interfaceIdHigh is IsatapLocal or IsatapGlobal && (hi >> 54 == LinkLocal10 || sixToFourRouter >> 24 != 0))
        {
            Add(readings, ref count, (uint)lo);
        }

        Add(readings, ref count, sixToFourRouter);

        return count;
    }

    /// <summary>RFC 6052 §2.2 inside 64:ff9b:1::/48: the shortest layout whose bits after the address are zero.</summary>
    private static bool TryReadLocalUse(ulong hi, ulong lo, out uint embedded)
    {
        embedded = 0;
        if (lo >> 56 != 0)
        {
            // Bits 64–71 are zero in every RFC 6052 layout.
            return false;
        }

        if ((lo & 0xFF_FFFF_FFFFUL) == 0)
        {
            // /48: bits 48–63 and 72–87.
            embedded = (uint)((hi & 0xFFFF) << 16) | (uint)((lo >> 40) & 0xFFFF);
        }
        else if ((uint)lo == 0)
        {
            // /56: bits 56–63 and 72–95.
            embedded = (uint)((hi & 0xFF) << 24) | (uint)((lo >> 32) & 0xFF_FFFF);
        }
        else if ((lo & 0xFF_FFFF) == 0)
        {
            // /64: bits 72–103.
            embedded = (uint)(lo >> 24);
        }
        else
        {
            // /96: the last 32 bits.
            embedded = (uint)lo;
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(Span<uint> readings, ref int count, uint embedded)
    {
        if (embedded >> 24 != 0)
        {
            readings[count++] = embedded;
        }
    }
}
