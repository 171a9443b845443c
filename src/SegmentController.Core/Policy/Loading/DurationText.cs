using System.Globalization;
using System.Text.RegularExpressions;

namespace SegmentController.Core.Policy.Loading;

/// <summary>Durations as written in a policy: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>7d</c>, or combined (<c>1h30m</c>).</summary>
internal static partial class DurationText
{
    /// <summary>Longer than this is a typo for every setting a policy has.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(366);

    public const string Hint = "write it as a number and a unit, e.g. 500ms, 30s, 5m, 1h or 7d";

    public static bool TryParse(string text, out TimeSpan value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = TimeSpan.Zero;
        if (text.Length is 0 or > 32 || !Whole().IsMatch(text))
        {
            return false;
        }

        long milliseconds = 0;
        foreach (Match part in Part().Matches(text))
        {
            if (!long.TryParse(part.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000_000L)
            {
                return false;
            }

            milliseconds += part.Groups["unit"].Value switch
            {
                "ms" => n,
                "s" => n * 1000,
                "m" => n * 60_000,
                "h" => n * 3_600_000,
                _ => n * 86_400_000,
            };
            if (milliseconds > (long)Max.TotalMilliseconds)
            {
                return false;
            }
        }

        value = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    /// <summary>The shortest text that reads back as <paramref name="value"/>.</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        return ms switch
        {
            0 => "0s",
            _ when ms % 86_400_000 == 0 => $"{ms / 86_400_000}d",
            _ when ms % 3_600_000 == 0 => $"{ms / 3_600_000}h",
            _ when ms % 60_000 == 0 => $"{ms / 60_000}m",
            _ when ms % 1000 == 0 => $"{ms / 1000}s",
            _ => $"{ms}ms",
        };
    }

    [GeneratedRegex(@"^([0-9]+(ms|s|m|h|d))+\z")]
    private static partial Regex Whole();

    [GeneratedRegex(@"(?<n>[0-9]+)(?<unit>ms|s|m|h|d)")]
    private static partial Regex Part();
}
