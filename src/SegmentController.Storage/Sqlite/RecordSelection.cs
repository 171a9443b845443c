using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>Turns a <see cref="RecordQuery"/> into a scan (time and type in SQL, clients in memory).</summary>
internal static class RecordSelection
{
    public static IEnumerable<StoredRecord> Select(StoreReader reader, RecordQuery query)
    {
        var conditions = new List<string>();
        if (query.From is not null)
        {
            conditions.Add("time >= $from_time");
        }

        if (query.To is not null)
        {
            conditions.Add("time <= $to_time");
        }

        if (query.Type is not null)
        {
            conditions.Add("type = $type");
        }

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

            conditions.Add($"idx <= {end.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        var where = conditions.Count == 0 ? null : string.Join(" AND ", conditions);
        return reader.ReadRecords(first, where, command =>
        {
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
        }).Where(query.Matches);
    }
}
