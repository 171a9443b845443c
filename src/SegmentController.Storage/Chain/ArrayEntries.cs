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
    /// Between strings the bytes are looked up one by one (a record's structure is dense there: a
    /// search stops every few bytes); a string is crossed with a vectorized search for its closing quote
    /// or an escape. The writer runs this on every row it joins, so its cost is paid per request.
    /// </remarks>
    public static int? Count(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 2 || payload[0] != (byte)'[' || payload[^1] != (byte)']')
        {
            return null;
        }

        var inner = payload[1..^1];
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

        if (depth != 0)
        {
            return null;
        }

        return commas > 0 || inner.Trim(" \t\r\n"u8).Length > 0 ? commas + 1 : 0;
    }
}
