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

        var where = conditions.Count == 0 ? null : string.Join(" AND ", conditions);
        return reader.ReadRecords(0, where, command =>
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
