using System.Globalization;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

internal static class RecordSelection
{
    public static IEnumerable<StoredRecord> Select(StoreReader reader, RecordQuery query)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        if (query.NewestFirst)
        {
            return NewestFirstSql(reader, query) is { } sql ? reader.ReadRecords(sql, command => Bind(command, query)).Where(query.Matches) : [];
        }

        var conditions = TimeAndTypeConditions(query);

        // Time bounds become idx bounds (time never decreases along the chain), so the scan starts and
        // stops where the window does; with a type, the (type, time) index serves the rest.
        long first = 0;
        if (query.From is { } since)
        {
            if (reader.FirstIndexAtOrAfter(since.UtcTicks) is not { } start)
            {
                return [];
            }

            first = start;
        }

        if (query.To is { } until)
        {
            if (reader.LastIndexAtOrBefore(until.UtcTicks) is not { } end)
            {
                return [];
            }

            conditions.Add($"idx <= {end.ToString(CultureInfo.InvariantCulture)}");
        }

        var where = conditions.Count == 0 ? null : string.Join(" AND ", conditions);
        return reader.ReadRecords(first, where, command => Bind(command, query)).Where(query.Matches);
    }

    /// <summary>
    /// The statement reading <paramref name="query"/>'s records newest first, or null when its time window
    /// holds none. With a type it walks the (type, time) index backwards — ordered by time, then idx, which
    /// is idx order since time never decreases along the chain — so the first rows come without the
    /// type's other records being read or sorted, and a reader that stops early reads no further. Without
    /// one it walks the primary key backwards between the window's bisected idx bounds.
    /// </summary>
    public static string? NewestFirstSql(StoreReader reader, RecordQuery query)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        var conditions = TimeAndTypeConditions(query);
        if (query.Type is not null)
        {
            return $"SELECT {reader.RecordColumns} FROM records WHERE {string.Join(" AND ", conditions)} ORDER BY time DESC, idx DESC";
        }

        if (query.From is { } since)
        {
            if (reader.FirstIndexAtOrAfter(since.UtcTicks) is not { } start)
            {
                return null;
            }

            conditions.Add($"idx >= {start.ToString(CultureInfo.InvariantCulture)}");
        }

        if (query.To is { } until)
        {
            if (reader.LastIndexAtOrBefore(until.UtcTicks) is not { } end)
            {
                return null;
            }

            conditions.Add($"idx <= {end.ToString(CultureInfo.InvariantCulture)}");
        }

        return $"SELECT {reader.RecordColumns} FROM records {(conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions))} ORDER BY idx DESC";
    }

    /// <summary>Gives the statement the query's time and type parameters.</summary>
    public static void Bind(SqliteCommand command, RecordQuery query)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(query);
        if (query.From is { } from)
        {
            command.Parameters.AddWithValue("$from_time", from.UtcTicks);
        }

        if (query.To is { } to)
        {
            command.Parameters.AddWithValue("$to_time", to.UtcTicks);
        }

        if (query.Type is { } type)
        {
            command.Parameters.AddWithValue("$type", type);
        }
    }

    private static List<string> TimeAndTypeConditions(RecordQuery query)
    {
        var conditions = new List<string>();
        if (query.Type is not null)
        {
            conditions.Add("type = $type");
        }

        if (query.From is not null)
        {
            conditions.Add("time >= $from_time");
        }

        if (query.To is not null)
        {
            conditions.Add("time <= $to_time");
        }

        return conditions;
    }
}
