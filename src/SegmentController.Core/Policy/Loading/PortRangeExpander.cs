using System.Globalization;
using System.Text.RegularExpressions;

namespace SegmentController.Core.Policy.Loading;

/// <summary>
/// Expands port lists the way network engineers write them: <c>Gi1/0/1-12</c>, <c>ge-0/0/1-4</c>,
/// <c>Ethernet1/1-4</c>, <c>swp1-8</c>, <c>1-24</c>, or one port. The range is the last number and a
/// <c>-N</c> after it; everything before the first number of the range is kept as the prefix.
/// </summary>
internal static partial class PortRangeExpander
{
    /// <summary>More ports than this in one range is a typo, not a switch.</summary>
    public const int MaxPortsPerRange = 1024;

    public const int MaxPortNameLength = 64;

    /// <summary>Expands <paramref name="text"/>; on failure <paramref name="error"/> says why.</summary>
    public static bool TryExpand(string text, out IReadOnlyList<string> ports, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ports = [];
        error = null;
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            error = "a port name is empty";
            return false;
        }

        if (trimmed.Length > MaxPortNameLength || !PortName().IsMatch(trimmed))
        {
            error = $"'{YamlMap.Printable(trimmed)}' is not a port name (letters, digits and / . : _ - only, at most {MaxPortNameLength} characters)";
            return false;
        }

        var range = Range().Match(trimmed);
        if (!range.Success)
        {
            ports = [trimmed];
            return true;
        }

        var prefix = range.Groups["prefix"].Value;
        var firstText = range.Groups["first"].Value;
        var lastText = range.Groups["last"].Value;
        if (!int.TryParse(firstText, NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(lastText, NumberStyles.None, CultureInfo.InvariantCulture, out var last))
        {
            error = $"port range '{trimmed}' has a number too large for a port";
            return false;
        }

        if (last < first)
        {
            error = $"port range '{trimmed}' runs backwards; write {prefix}{lastText}-{firstText}";
            return false;
        }

        if ((long)last - first + 1 > MaxPortsPerRange)
        {
            error = $"port range '{trimmed}' spans {(long)last - first + 1} ports; at most {MaxPortsPerRange} per range";
            return false;
        }

        // Keep zero padding the engineer wrote (eth01-12 gives eth01 … eth12).
        var width = firstText.Length > 1 && firstText[0] == '0' ? firstText.Length : 0;
        var list = new string[last - first + 1];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = prefix + (first + i).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
        }

        ports = list;
        return true;
    }

    [GeneratedRegex(@"^[A-Za-z0-9/._:\-]+\z")]
    private static partial Regex PortName();

    [GeneratedRegex(@"^(?<prefix>.*?)(?<first>[0-9]+)-(?<last>[0-9]+)\z")]
    private static partial Regex Range();
}
