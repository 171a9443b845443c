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

    /// <summary>The records to empty on <paramref name="today"/> (index and client key), in chain order; <paramref name="command"/> is a fresh command on the store's connection.</summary>
    public static List<(long Index, string Clients)> Victims(SqliteCommand command, IReadOnlyDictionary<string, DateOnly> expired, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(command);
        var victims = new List<(long Index, string Clients)>();
        if (expired.Count == 0)
        {
            return victims;
        }

        command.CommandText = "SELECT idx, clients FROM records WHERE payload IS NOT NULL AND clients IS NOT NULL AND time < $made_before AND type NOT IN ('checkpoint', 'key-rotation', 'purge') ORDER BY idx";
        command.Parameters.AddWithValue("$made_before", MadeBefore(today));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var clients = reader.GetString(1);
            if (ClientKey.Split(clients).All(expired.ContainsKey))
            {
                victims.Add((reader.GetInt64(0), clients));
            }
        }

        return victims;
    }

    /// <summary>
    /// The victims as the purge records that vouch for them: one per client for the records of that client
    /// alone, naming that client alone — what an export for one client shows of a purge names nothing of
    /// another — then one for the records of several clients, naming those clients. That one comes last: a
    /// record is vouched for by the first purge after it that covers it, and it covers one client's records too.
    /// </summary>
    public static IReadOnlyList<(string[] Clients, List<long> Indexes)> Groups(IEnumerable<(long Index, string Clients)> victims)
    {
        ArgumentNullException.ThrowIfNull(victims);
        var single = new SortedDictionary<string, List<long>>(StringComparer.Ordinal);
        var shared = new List<long>();
        var sharedClients = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (index, clients) in victims)
        {
            var ids = ClientKey.Split(clients);
            if (ids.Count == 1)
            {
                (single.TryGetValue(clients, out var list) ? list : single[clients] = []).Add(index);
            }
            else
            {
                shared.Add(index);
                sharedClients.UnionWith(ids);
            }
        }

        var groups = single.Select(p => (Clients: new[] { p.Key }, Indexes: p.Value)).ToList();
        if (shared.Count > 0)
        {
            groups.Add((sharedClients.ToArray(), shared));
        }

        return groups;
    }
}
