using System.Globalization;
using System.Text.RegularExpressions;

namespace SegmentController.Core.Evidence;

/// <summary>
/// The times an operator gives for the evidence (an export's bounds): ISO 8601 alone — a date
/// (<c>2026-03-01</c>, its 00:00 UTC) or a date and time with <c>T</c>, optional seconds and fraction (at most
/// 7 digits) and <c>Z</c> or an offset (<c>+02:00</c>); a time without either is UTC.
/// </summary>
public static partial class IsoTime
{
    /// <summary>What is accepted, for error messages.</summary>
    public const string Expected = "an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T00:00:00Z";

    /// <summary>Reads <paramref name="text"/> as an ISO 8601 date or date-time; false for anything else.</summary>
    public static bool TryParse(string? text, out DateTimeOffset time)
    {
        time = default;
        // A general parser reads "1/2/2026" as 2 January (the invariant culture is American): a window
        // silently not the one meant. Only the one unambiguous shape is read.
        return text is not null
            && Shape().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,7})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}
