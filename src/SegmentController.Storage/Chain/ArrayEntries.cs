using System.Numerics;
using System.Runtime.Intrinsics;

namespace SegmentController.Storage.Chain;

/// <summary>
/// How many entries a payload holds: the elements of a top-level JSON array (the rows the writer makes of
/// handed-over entries, <c>[e1,e2,…]</c>), null for any other payload. The store's <c>entries</c> column
/// holds it; verification derives it again from the payload and compares, so the column, which the chain
/// does not cover, cannot be changed unnoticed while the payload is there.
/// </summary>
/// <remarks>
/// A structural count, not a JSON validation: brackets and braces are balanced, strings (with their
/// escapes) skipped, and commas at the array's own level counted; anything else yields null. The writer
/// and the verifier use this same function, so the column is exactly what the payload implies.
/// </remarks>
public static class ArrayEntries
{
    // Outside strings, per byte: 0 nothing to do, 1 '"', 2 '[' or '{', 3 ']' or '}', 4 ','.
    private static ReadOnlySpan<byte> Kind =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    /// <summary>The number of top-level elements when <paramref name="payload"/> is a bracketed list; otherwise null.</summary>
    /// <remarks>
    /// The writer runs this on every row it joins and verification on every row it reads, so its cost is
    /// paid per request and per record verified. Lists of 64 bytes or more are read 64 bytes at a time
    /// (<see cref="CountByBlocks"/>); shorter ones, and any with a backslash outside a string, a byte at a
    /// time (<see cref="CountByBytes"/>).
    /// </remarks>
    public static int? Count(ReadOnlySpan<byte> payload) => Count(payload, Vector256.IsHardwareAccelerated);

    /// <summary>The count, reading blocks with 32-byte vectors (<paramref name="wideVectors"/>) or 16-byte ones.</summary>
    internal static int? Count(ReadOnlySpan<byte> payload, bool wideVectors)
    {
        if (payload.Length < 2 || payload[0] != (byte)'[' || payload[^1] != (byte)']')
        {
            return null;
        }

        var inner = payload[1..^1];
        if (inner.Length >= BlockBytes && Vector128.IsHardwareAccelerated)
        {
            var (entries, decided) = CountByBlocks(inner, wideVectors);
            if (decided)
            {
                return entries;
            }
        }

        return CountByBytes(inner);
    }

    /// <summary>
    /// The count a byte at a time: between strings each byte is looked up (a record's structure is dense
    /// there: a search would stop every few bytes); a string is crossed with a vectorized search for its
    /// closing quote or an escape.
    /// </summary>
    private static int? CountByBytes(ReadOnlySpan<byte> inner)
    {
        var kind = Kind;
        var depth = 0;
        var commas = 0;
        for (var i = 0; i < inner.Length; i++)
        {
            switch (kind[inner[i]])
            {
                case 0:
                    continue;
                case 1:
                    // To the closing quote, stepping over escaped characters.
                    i++;
                    while (true)
                    {
                        var stop = inner[i..].IndexOfAny((byte)'"', (byte)'\\');
                        if (stop < 0)
                        {
                            return null;
                        }

                        i += stop;
                        if (inner[i] == (byte)'"')
                        {
                            break;
                        }

                        i += 2;
                        if (i > inner.Length)
                        {
                            return null;
                        }
                    }

                    break;
                case 2:
                    depth++;
                    break;
                case 3:
                    if (--depth < 0)
                    {
                        return null;
                    }

                    break;
                default:
                    commas += depth == 0 ? 1 : 0;
                    break;
            }
        }

        return Entries(inner, depth, commas);
    }

    // The elements of a list whose strings all closed: null when its brackets do not balance.
    private static int? Entries(ReadOnlySpan<byte> inner, int depth, int commas) =>
        depth != 0 ? null : commas > 0 || inner.Trim(" \t\r\n"u8).Length > 0 ? commas + 1 : 0;

    private const int BlockBytes = 64;

    // Every other bit, from the second: the odd positions.
    private const ulong OddBits = 0xAAAAAAAAAAAAAAAA;

    /// <summary>
    /// The count read 64 bytes at a time: each block's quotes, backslashes, brackets and commas become bit masks
    /// (a bit per byte), the characters escaped by backslash runs are found from the runs' lengths (an odd run
    /// escapes the byte after it, carried into the next block), the bytes inside strings from the quotes that are
    /// not escaped (a running parity, carried too); the brackets outside strings are visited one by one and the commas
    /// between them, outside strings, counted together where the depth is the list's own.
    /// Returns null with no count (<c>Decided</c> false) when a backslash lies outside a string: there it escapes
    /// nothing, which the masks assume it does, so the caller counts a byte at a time. Up to the first such
    /// backslash the masks and a byte-at-a-time reading agree on every string, so a list with none is counted
    /// exactly, and the first one is found where it is (outside a string by both readings).
    /// </summary>
    private static (int? Entries, bool Decided) CountByBlocks(ReadOnlySpan<byte> inner, bool wideVectors)
    {
        Span<byte> last = stackalloc byte[BlockBytes];
        ulong escapedCarry = 0;
        ulong inStringCarry = 0;
        var depth = 0;
        var commas = 0;
        for (var at = 0; at < inner.Length; at += BlockBytes)
        {
            scoped ReadOnlySpan<byte> block = inner[at..];
            if (block.Length < BlockBytes)
            {
                // The last, short block padded with spaces, which are none of the characters looked for.
                last.Fill((byte)' ');
                block.CopyTo(last);
                block = last;
            }

            var (quotes, backslashes, opens, closes, separators) = Classify(block, wideVectors);

            // Escaped bytes (simdjson's escape scanner): in a run of backslashes every other one escapes the byte
            // after it, from the run's first. Subtracting the runs from the odd positions (each run shifted on by
            // one) leaves, after the odd positions are flipped back, a bit on each escaping backslash and on the
            // byte the run escapes; the run's own bits are taken out again. A block that ends with an escaping
            // backslash escapes the next block's first byte.
            var potential = backslashes & ~escapedCarry;
            var code = unchecked(((potential << 1) | OddBits) - potential) ^ OddBits;
            var escaped = code ^ (backslashes | escapedCarry);
            escapedCarry = (code & backslashes) >> 63;

            // Inside a string: from an opening quote up to (not including) its closing one.
            var inString = PrefixXor(quotes & ~escaped) ^ inStringCarry;
            inStringCarry = (ulong)((long)inString >> 63);
            if ((backslashes & ~inString) != 0)
            {
                return (null, false);
            }

            // Bracket by bracket: the commas before each count when the depth there is the list's own.
            var brackets = (opens | closes) & ~inString;
            var separatorsLeft = separators & ~inString;
            while (brackets != 0)
            {
                var bit = brackets & unchecked(0 - brackets);
                brackets ^= bit;
                var before = bit - 1;
                commas += depth == 0 ? BitOperations.PopCount(separatorsLeft & before) : 0;
                separatorsLeft &= ~before;
                if ((opens & bit) != 0)
                {
                    depth++;
                }
                else if (--depth < 0)
                {
                    return (null, true);
                }
            }

            commas += depth == 0 ? BitOperations.PopCount(separatorsLeft) : 0;
        }

        // A string still open at the end (an escape as the last byte included) is not a list.
        return (inStringCarry != 0 ? null : Entries(inner, depth, commas), true);
    }

    // The block's bytes that are '"', '\\', '[' or '{', ']' or '}', and ',' (bit i for byte i).
    // '[' (0x5B) and '{' (0x7B) differ in bit 0x20 alone, as do ']' (0x5D) and '}' (0x7D): each pair is one
    // comparison once that bit is set.
    private static (ulong Quotes, ulong Backslashes, ulong Opens, ulong Closes, ulong Commas) Classify(ReadOnlySpan<byte> block, bool wideVectors)
    {
        ulong quotes = 0, backslashes = 0, opens = 0, closes = 0, commas = 0;
        if (wideVectors)
        {
            for (var shift = 0; shift < BlockBytes; shift += 32)
            {
                var bytes = Vector256.Create(block.Slice(shift, 32));
                var folded = bytes | Vector256.Create((byte)0x20);
                quotes |= (ulong)Vector256.Equals(bytes, Vector256.Create((byte)'"')).ExtractMostSignificantBits() << shift;
                backslashes |= (ulong)Vector256.Equals(bytes, Vector256.Create((byte)'\\')).ExtractMostSignificantBits() << shift;
                opens |= (ulong)Vector256.Equals(folded, Vector256.Create((byte)'{')).ExtractMostSignificantBits() << shift;
                closes |= (ulong)Vector256.Equals(folded, Vector256.Create((byte)'}')).ExtractMostSignificantBits() << shift;
                commas |= (ulong)Vector256.Equals(bytes, Vector256.Create((byte)',')).ExtractMostSignificantBits() << shift;
            }

            return (quotes, backslashes, opens, closes, commas);
        }

        for (var shift = 0; shift < BlockBytes; shift += 16)
        {
            var bytes = Vector128.Create(block.Slice(shift, 16));
            var folded = bytes | Vector128.Create((byte)0x20);
            quotes |= (ulong)Vector128.Equals(bytes, Vector128.Create((byte)'"')).ExtractMostSignificantBits() << shift;
            backslashes |= (ulong)Vector128.Equals(bytes, Vector128.Create((byte)'\\')).ExtractMostSignificantBits() << shift;
            opens |= (ulong)Vector128.Equals(folded, Vector128.Create((byte)'{')).ExtractMostSignificantBits() << shift;
            closes |= (ulong)Vector128.Equals(folded, Vector128.Create((byte)'}')).ExtractMostSignificantBits() << shift;
            commas |= (ulong)Vector128.Equals(bytes, Vector128.Create((byte)',')).ExtractMostSignificantBits() << shift;
        }

        return (quotes, backslashes, opens, closes, commas);
    }

    // Bit i is the parity of bits 0..i.
    private static ulong PrefixXor(ulong bits)
    {
        bits ^= bits << 1;
        bits ^= bits << 2;
        bits ^= bits << 4;
        bits ^= bits << 8;
        bits ^= bits << 16;
        bits ^= bits << 32;
        return bits;
    }
}
