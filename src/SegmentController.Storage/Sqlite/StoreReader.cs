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
    /// read in batches, each batch's digests computed on every core, then walked in order.
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
            var batch = new VerifyBatch();
            do
            {
                batch.Clear();
                while (!batch.IsFull && (rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                {
                    batch.Add(statement, types, clientKeys);
                }

                cancellationToken.ThrowIfCancellationRequested();
                batch.ComputeDigests(cancellationToken);
                for (var row = 0; row < batch.Count; row++)
                {
                    if (!batch.Feed(verifier, row))
                    {
                        return;
                    }
                }
            }
            while (rc == raw.SQLITE_ROW);

            if (rc != raw.SQLITE_DONE)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            }
        }
    }

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
