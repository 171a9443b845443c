using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>Reads a store file without opening a writer (commands, reports).</summary>
public static class StoreFile
{
    /// <summary>The records matching <paramref name="query"/>, in chain order, from one snapshot.</summary>
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

    /// <summary>Counts records matching <paramref name="query"/>.</summary>
    public static long Count(string path, RecordQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var reader = StoreReader.Open(path);
        return RecordSelection.Select(reader, query).LongCount();
    }
}
