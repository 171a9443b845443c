using System.Buffers;

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
    private static readonly SearchValues<byte> Structural = SearchValues.Create("\"[]{},"u8);
    private static readonly SearchValues<byte> InString = SearchValues.Create("\"\\"u8);

    /// <summary>The number of top-level elements when <paramref name="payload"/> is a bracketed list; otherwise null.</summary>
    public static int? Count(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 2 || payload[0] != (byte)'[' || payload[^1] != (byte)']')
        {
            return null;
        }

        var inner = payload[1..^1];
        var depth = 0;
        var commas = 0;
        var i = 0;
        while (true)
        {
            var next = inner[i..].IndexOfAny(Structural);
            if (next < 0)
            {
                break;
            }

            i += next;
            switch (inner[i])
            {
                case (byte)'"':
                    // Past the closing quote, stepping over escaped characters.
                    i++;
                    while (true)
                    {
                        var stop = inner[i..].IndexOfAny(InString);
                        if (stop < 0)
                        {
                            return null;
                        }

                        i += stop;
                        if (inner[i] == (byte)'\\')
                        {
                            i += 2;
                            if (i > inner.Length)
                            {
                                return null;
                            }

                            continue;
                        }

                        break;
                    }

                    break;
                case (byte)'[' or (byte)'{':
                    depth++;
                    break;
                case (byte)']' or (byte)'}':
                    if (--depth < 0)
                    {
                        return null;
                    }

                    break;
                default:
                    commas += depth == 0 ? 1 : 0;
                    break;
            }

            i++;
        }

        if (depth != 0)
        {
            return null;
        }

        return commas > 0 || inner.Trim(" \t\r\n"u8).Length > 0 ? commas + 1 : 0;
    }
}
