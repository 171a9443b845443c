using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>Reads a store file without opening a writer (commands, reports).</summary>
public static class StoreFile
{
    /// <summary>The records matching <paramref name="query"/>, in chain order (newest first where the query asks), from one snapshot.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidOperationException">The file is not a readable store.</exception>
    public static IReadOnlyList<StoredRecord> Read(string path, RecordQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        try
        {
            using var reader = StoreReader.Open(path);
            return RecordSelection.Select(reader, query).ToList();
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"store {path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// Records of <paramref name="type"/> between the bounds (inclusive) that concern any of
    /// <paramref name="clients"/>, counted per client key through the type index (payloads are not read): a
    /// row joining handed-over records counts each of them (its <c>entries</c> column).
    /// </summary>
    public static long CountConcerning(string path, string type, IReadOnlyCollection<string> clients, DateTimeOffset since, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(clients);
        try
        {
            using var reader = StoreReader.Open(path);
            var wanted = clients.ToHashSet(StringComparer.Ordinal);
            return reader.CountByClients(type, since.UtcTicks, until.UtcTicks)
                .Where(c => ClientKey.Split(c.Clients).Any(wanted.Contains))
                .Sum(c => c.Count);
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"store {path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>What a purge on <paramref name="today"/> would empty (a dry run: nothing is written, no lock taken).</summary>
    public static (long Records, IReadOnlyList<string> Clients) CountPurgeable(string path, IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(retainUntil);
        var expired = PurgeSelection.Expired(retainUntil, today);
        try
        {
            using var reader = StoreReader.Open(path);
            var policyLoads = reader.ReadPolicyLoads();
            using var command = reader.Command("");
            return (PurgeSelection.Victims(command, expired, today, policyLoads).Count, expired.Keys.Order(StringComparer.Ordinal).ToArray());
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"store {path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// The clients the store knows: those every policy on record (<c>policy-load</c>) named, former clients
    /// included (their evidence is kept past the contract); in a store no controller wrote (no policy on
    /// record), those its records concern. Ordinal, sorted.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidOperationException">The file is not a readable store.</exception>
    public static IReadOnlyList<string> Clients(string path)
    {
        try
        {
            using var reader = StoreReader.Open(path);
            var clients = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var load in reader.ReadPolicyLoads())
            {
                clients.UnionWith(load.ContractEnds.Keys);
            }

            if (clients.Count == 0)
            {
                using var command = reader.Command("SELECT DISTINCT clients FROM records WHERE clients IS NOT NULL");
                using var keys = command.ExecuteReader();
                while (keys.Read())
                {
                    clients.UnionWith(ClientKey.Split(keys.GetString(0)));
                }
            }

            return [.. clients];
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"store {path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Counts records matching <paramref name="query"/>.</summary>
    public static long Count(string path, RecordQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var reader = StoreReader.Open(path);
        return RecordSelection.Select(reader, query).LongCount();
    }
}
