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

    /// <summary>
    /// The records to empty on <paramref name="today"/> (index and client key), in chain order; <paramref name="command"/>
    /// is a fresh command on the store's connection, <paramref name="policyLoads"/> the store's policy loads in chain order.
    /// A record is kept while any of its clients' retention runs — as <paramref name="expired"/> has it, and as the
    /// policy in force when the record was made had it (<see cref="InForceAt"/>): a contract end moved earlier since
    /// (a later policy, or one handed to an offline purge) does not shorten what was promised for records made before.
    /// </summary>
    public static List<(long Index, string Clients)> Victims(SqliteCommand command, IReadOnlyDictionary<string, DateOnly> expired, DateOnly today, IReadOnlyList<Chain.PolicyLoadBody> policyLoads)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(policyLoads);
        var victims = new List<(long Index, string Clients)>();
        if (expired.Count == 0)
        {
            return victims;
        }

        command.CommandText = "SELECT idx, clients FROM records WHERE payload IS NOT NULL AND clients IS NOT NULL AND time < $made_before AND type NOT IN ('checkpoint', 'key-rotation', 'purge') ORDER BY idx";
        command.Parameters.AddWithValue("$made_before", MadeBefore(today));
        using var reader = command.ExecuteReader();
        var contractEnds = new Dictionary<string, DateOnly>(StringComparer.Ordinal);
        var nextLoad = 0;
        while (reader.Read())
        {
            var index = reader.GetInt64(0);
            for (; nextLoad < policyLoads.Count && policyLoads[nextLoad].RecordIndex < index; nextLoad++)
            {
                foreach (var (client, end) in policyLoads[nextLoad].ContractEnds)
                {
                    contractEnds[client] = end;
                }
            }

            var clients = reader.GetString(1);
            if (ClientKey.Split(clients).All(c => expired.ContainsKey(c) && (!contractEnds.TryGetValue(c, out var end) || end.AddYears(MinimumYears) < today)))
            {
                victims.Add((index, clients));
            }
        }

        return victims;
    }

    /// <summary>
    /// The contract end the policy in force when record <paramref name="index"/> was made gave <paramref name="client"/>:
    /// that of the last policy load before it naming the client; null when none did.
    /// </summary>
    public static DateOnly? InForceAt(IReadOnlyList<Chain.PolicyLoadBody> policyLoads, long index, string client)
    {
        ArgumentNullException.ThrowIfNull(policyLoads);

        // Loads are in chain order: the last one before the record is found by bisection (verification asks this of
        // every purged record), and from there back to the first that names the client, almost always that one.
        int low = 0, high = policyLoads.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (policyLoads[middle].RecordIndex < index)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        for (var i = low - 1; i >= 0; i--)
        {
            if (policyLoads[i].ContractEnds.TryGetValue(client, out var end))
            {
                return end;
            }
        }

        return null;
    }

    /// <summary>
    /// Every policy load's contract ends, in chain order (<paramref name="command"/>: a fresh command on the store's
    /// connection; <paramref name="encodingColumn"/>: the encoding column, or <c>NULL</c> in a store made before it).
    /// </summary>
    public static IReadOnlyList<Chain.PolicyLoadBody> PolicyLoads(SqliteCommand command, string encodingColumn = "encoding")
    {
        ArgumentNullException.ThrowIfNull(command);
        var loads = new List<Chain.PolicyLoadBody>();
        command.CommandText = $"SELECT idx, payload, {encodingColumn} FROM records WHERE type = 'policy-load' AND payload IS NOT NULL ORDER BY idx";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (PayloadEncoding.Read(reader, 1, 2) is { } payload && PolicyLoadRecord.ContractEnds(payload) is { Count: > 0 } ends)
            {
                loads.Add(new Chain.PolicyLoadBody(reader.GetInt64(0), ends));
            }
        }

        return loads;
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
