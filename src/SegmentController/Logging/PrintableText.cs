using System.Globalization;
using System.Text;

namespace SegmentController.Logging;

/// <summary>
/// Text from outside (request paths and hosts, operators' reasons, switches' descriptions, policy
/// content) made safe to show on one line of a terminal or a log: what a terminal would act on is
/// written out instead of passed through.
/// </summary>
internal static class PrintableText
{
    /// <summary>
    /// The text with line breaks and other control characters (C0, DEL, C1, line and paragraph
    /// separators) as <c>\n</c>, <c>\r</c>, <c>\t</c> or <c>\uXXXX</c>, and the bidirectional controls
    /// that reorder what is shown as <c>\uXXXX</c>. A backslash stays as it is: the escapes are for a
    /// reader, not a parser.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        if (!text.AsSpan().ContainsAny(Unprintable))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        Append(builder, text);
        return builder.ToString();
    }

    /// <summary>Appends <paramref name="text"/> to <paramref name="builder"/> escaped as <see cref="Escape"/> does.</summary>
    public static void Append(StringBuilder builder, string? text)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var at = rest.IndexOfAny(Unprintable);
            if (at < 0)
            {
                builder.Append(rest);
                return;
            }

            builder.Append(rest[..at]);
            _ = rest[at] switch
            {
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                var c => builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
            };
            rest = rest[(at + 1)..];
        }
    }

    /// <summary>True when <paramref name="c"/> is written out as an escape.</summary>
    public static bool IsUnprintable(char c) => Unprintable.Contains(c);

    // C0 and DEL, C1, the Arabic letter mark, LRM/RLM, the line and paragraph separators, the embeddings
    // and overrides (LRE … RLO) and the isolates (LRI … PDI).
    private static readonly System.Buffers.SearchValues<char> Unprintable = System.Buffers.SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7f, 0x21)).Select(i => (char)i))
        + "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");
}
