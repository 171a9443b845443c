using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// Which records a purge empties: those with a payload whose every client's retention ended (never
/// site-wide records or the store's own), made more than six years before the purge's date.
/// </summary>
internal static class PurgeSelection
{
    /// <summary>
    /// What every record is kept for at least, from the day it was made: an access recorded on a day
    /// happened under a contract in force that day, whose end plus six years cannot come sooner — whatever
    /// contract end a policy not kept up to date (a renewal never entered) gives.
    /// </summary>
    public const int MinimumYears = 6;

    /// <summary>The clients whose retention ended before <paramref name="today"/>.</summary>
    public static Dictionary<string, DateOnly> Expired(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today) =>
        retainUntil.Where(p => p.Value < today).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Records made before this time (UTC ticks) are old enough to be purged on <paramref name="today"/>.</summary>
    public static long MadeBefore(DateOnly today) =>
        today.AddYears(-MinimumYears).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).Ticks;

    /// <summary>The indexes of the records to empty on <paramref name="today"/>, in chain order; <paramref name="command"/> is a fresh command on the store's connection.</summary>
    public static List<long> Victims(SqliteCommand command, IReadOnlyDictionary<string, DateOnly> expired, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(command);
        var victims = new List<long>();
        if (expired.Count == 0)
        {
            return victims;
        }

        command.CommandText = "SELECT idx, clients FROM records WHERE payload IS NOT NULL AND clients IS NOT NULL AND time < $made_before AND type NOT IN ('checkpoint', 'key-rotation', 'purge') ORDER BY idx";
        command.Parameters.AddWithValue("$made_before", MadeBefore(today));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (ClientKey.Split(reader.GetString(1)).All(expired.ContainsKey))
            {
                victims.Add(reader.GetInt64(0));
            }
        }

        return victims;
    }
}
