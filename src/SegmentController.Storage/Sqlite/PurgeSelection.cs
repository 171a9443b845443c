using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>Which records a purge empties: those with a payload whose every client's retention ended (never site-wide records or the store's own).</summary>
internal static class PurgeSelection
{
    /// <summary>The clients whose retention ended before <paramref name="today"/>.</summary>
    public static Dictionary<string, DateOnly> Expired(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today) =>
        retainUntil.Where(p => p.Value < today).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>The indexes of the records to empty, in chain order; <paramref name="command"/> is a fresh command on the store's connection.</summary>
    public static List<long> Victims(SqliteCommand command, IReadOnlyDictionary<string, DateOnly> expired)
    {
        ArgumentNullException.ThrowIfNull(command);
        var victims = new List<long>();
        if (expired.Count == 0)
        {
            return victims;
        }

        command.CommandText = "SELECT idx, clients FROM records WHERE payload IS NOT NULL AND clients IS NOT NULL AND type NOT IN ('checkpoint', 'key-rotation', 'purge') ORDER BY idx";
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
