using Microsoft.Data.Sqlite;
using SQLitePCL;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// Reads one consistent snapshot of a store file (a read transaction over the WAL), for verification,
/// export and queries. Works without the signing key and while the writer runs.
/// </summary>
internal sealed class StoreReader : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _snapshot;

    private StoreReader(SqliteConnection connection)
    {
        _connection = connection;
        _snapshot = connection.BeginTransaction(deferred: true);
    }

    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidOperationException">The file is not a segctl store.</exception>
    public static StoreReader Open(string path)
    {
        var connection = SqliteConnections.OpenReader(path);
        try
        {
            var reader = new StoreReader(connection);
            try
            {
                using var command = reader.Command("SELECT value FROM meta WHERE key = 'format'");
                if (command.ExecuteScalar() is not "segctl-evidence-v1")
                {
                    throw new InvalidOperationException($"{path} is not a segctl evidence store");
                }
            }
            catch (SqliteException e)
            {
                reader.Dispose();
                throw new InvalidOperationException($"{path} is not a segctl evidence store: {e.Message}", e);
            }

            return reader;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new InvalidOperationException($"{path} cannot be opened as a store: {e.Message}", e);
        }
    }

    /// <summary>The signed head, or null when the row is missing or malformed.</summary>
    public CheckpointBody? ReadHead()
    {
        using var command = Command("SELECT idx, hash, key_id, signature FROM head WHERE id = 1");
        using var reader = command.ExecuteReader();
        if (!reader.Read() || reader.IsDBNull(1) || reader.IsDBNull(3) || reader.IsDBNull(2))
        {
            return null;
        }

        return new CheckpointBody(reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetString(2), (byte[])reader.GetValue(3));
    }

    /// <summary>The bodies of every purge record (read ahead of verification).</summary>
    public IReadOnlyList<PurgeBody> ReadPurges()
    {
        var purges = new List<PurgeBody>();
        using var command = Command("SELECT payload FROM records WHERE type = 'purge' AND payload IS NOT NULL ORDER BY idx");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetValue(0) is byte[] payload && StorePayloads.ParsePurge(payload) is { } body)
            {
                purges.Add(body);
            }
        }

        return purges;
    }

    /// <summary>Every record in index order, optionally starting at an index.</summary>
    public IEnumerable<StoredRecord> ReadRecords(long fromIndex = 0, string? where = null, Action<SqliteCommand>? bind = null)
    {
        using var command = Command($"SELECT {Schema.Columns} FROM records WHERE idx >= $from {(where is null ? "" : "AND " + where)} ORDER BY idx");
        command.Parameters.AddWithValue("$from", fromIndex);
        bind?.Invoke(command);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ToRecord(reader);
        }
    }

    /// <summary>
    /// Streams every row into a verifier without building records (the fast path): a raw SQLite statement
    /// whose column values are read in place, so a row costs no allocation.
    /// </summary>
    public void Feed(ChainVerifier verifier, CancellationToken cancellationToken)
    {
        var db = _connection.Handle ?? throw new InvalidOperationException("the store connection is closed");
        var rc = raw.sqlite3_prepare_v2(db, $"SELECT {Schema.Columns} FROM records ORDER BY idx", out sqlite3_stmt statement);
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
        }

        using (statement)
        {
            var types = new Utf8StringCache();
            var clientKeys = new Utf8StringCache();
            var rows = 0;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                if ((++rows & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                // Column types are checked as the typed reader did: a hash or payload that is not a BLOB
                // reads as empty, and the verifier names the record as malformed or edited.
                var hasPayload = raw.sqlite3_column_type(statement, 4) != raw.SQLITE_NULL;
                var ok = verifier.AddRecord(
                    raw.sqlite3_column_int64(statement, 0),
                    raw.sqlite3_column_type(statement, 1) == raw.SQLITE_NULL ? -1 : raw.sqlite3_column_int64(statement, 1),
                    raw.sqlite3_column_type(statement, 2) == raw.SQLITE_NULL ? "" : types.Get(raw.sqlite3_column_blob(statement, 2)),
                    raw.sqlite3_column_type(statement, 3) == raw.SQLITE_NULL ? null : clientKeys.Get(raw.sqlite3_column_blob(statement, 3)),
                    hasPayload,
                    hasPayload ? RawBlob(statement, 4) : [],
                    RawBlob(statement, 5),
                    RawBlob(statement, 6),
                    RawBlob(statement, 7));
                if (!ok)
                {
                    return;
                }
            }

            if (rc != raw.SQLITE_DONE)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            }
        }
    }

    private static ReadOnlySpan<byte> RawBlob(sqlite3_stmt statement, int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_BLOB ? raw.sqlite3_column_blob(statement, column) : [];

    public static StoredRecord ToRecord(SqliteDataReader reader) => new()
    {
        Index = reader.GetInt64(0),
        Time = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero),
        Type = reader.GetString(2),
        Clients = reader.IsDBNull(3) ? null : reader.GetString(3),
        Payload = reader.IsDBNull(4) ? (ReadOnlyMemory<byte>?)null : (byte[])reader.GetValue(4),
        PayloadSha256 = (byte[])reader.GetValue(5),
        PreviousHash = (byte[])reader.GetValue(6),
        Hash = (byte[])reader.GetValue(7),
    };

    public SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _snapshot;
        return command;
    }

    public void Dispose()
    {
        _snapshot.Dispose();
        _connection.Dispose();
    }
}
