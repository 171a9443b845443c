using System.Globalization;

namespace SegmentController.Core.Policy;

/// <summary>Writes expanded port lists back the way engineers read them (<c>Gi1/0/1-12, Gi1/0/20</c>).</summary>
public static class PortRanges
{
    /// <summary>Joins runs of consecutive ports with the same prefix into ranges, keeping order of first appearance.</summary>
    public static IReadOnlyList<string> Compress(IEnumerable<string> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var result = new List<string>();
        string? prefix = null;
        int first = 0, last = 0, width = 0;
        foreach (var port in ports)
        {
            var (p, number, w) = Split(port);
            if (prefix is not null && number is { } n && p == prefix && w == width && n == last + 1)
            {
                last = n;
                continue;
            }

            Flush();
            if (number is { } start)
            {
                (prefix, first, last, width) = (p, start, start, w);
            }
            else
            {
                result.Add(port);
            }
        }

        Flush();
        return result;

        void Flush()
        {
            if (prefix is null)
            {
                return;
            }

            var from = first.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
            var to = last.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
            result.Add(first == last ? prefix + from : $"{prefix}{from}-{to}");
            prefix = null;
        }
    }

    private static (string Prefix, int? Number, int Width) Split(string port)
    {
        var i = port.Length;
        while (i > 0 && char.IsAsciiDigit(port[i - 1]))
        {
            i--;
        }

        var digits = port[i..];
        if (digits.Length is 0 or > 9)
        {
            return (port, null, 0);
        }

        var width = digits.Length > 1 && digits[0] == '0' ? digits.Length : 0;
        return (port[..i], int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture), width);
    }
}
