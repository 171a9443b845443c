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

    /// <summary>Whether the records table has the <c>entries</c> column (schema 3; a store no writer has opened since is older).</summary>
    public bool HasEntries => _hasEntries ??= SqliteConnections.HasColumn(_connection, "records", "entries", _snapshot);

    private bool? _hasEntries;

    /// <summary>Whether the records table has the <c>encoding</c> column (schema 4; an older store keeps every payload as written).</summary>
    public bool HasEncoding => _hasEncoding ??= SqliteConnections.HasColumn(_connection, "records", "encoding", _snapshot);

    private bool? _hasEncoding;

    /// <summary>The columns <see cref="ToRecord"/> reads: <see cref="Schema.Columns"/> and the payload's encoding (NULL in an older store).</summary>
    public string RecordColumns => $"{Schema.Columns}, {EncodingColumn}";

    private string EncodingColumn => HasEncoding ? "encoding" : "NULL";

    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidOperationException">The file is not a segctl store, or its schema was altered (<see cref="Altered"/>).</exception>
    public static StoreReader Open(string path)
    {
        var reader = OpenAsWritten(path);
        if (reader.Altered() is { } altered)
        {
            reader.Dispose();
            throw new InvalidOperationException($"store {path}: its schema was altered: {altered}; run 'segctl log verify'");
        }

        return reader;
    }

    /// <summary>What in the file the store's writer never made (a view for its records table, a trigger), or null.</summary>
    public string? Altered() => SqliteConnections.Altered(_connection, _snapshot);

    /// <summary>Opens a store without looking at its schema beyond its format: verification judges <see cref="Altered"/> itself.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidOperationException">The file is not a segctl store.</exception>
    public static StoreReader OpenAsWritten(string path)
    {
        var connection = SqliteConnections.OpenReader(path);
        try
        {
            var reader = new StoreReader(connection);
            try
            {
                using var command = reader.Command("SELECT value FROM meta WHERE key = 'format'");
                if (command.ExecuteScalar() is not (Schema.Format or Schema.FormatBeforeEncoding))
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
        using var command = Command($"SELECT idx, time, payload, {EncodingColumn} FROM records WHERE type = 'purge' AND payload IS NOT NULL ORDER BY idx");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            // A payload that cannot be read here fails verification at its row.
            if (PayloadEncoding.Read(reader, 2, 3) is { } payload && StorePayloads.ParsePurge(payload, reader.GetInt64(0), reader.GetInt64(1)) is { } body)
            {
                purges.Add(body);
            }
        }

        return purges;
    }

    /// <summary>The retention facts of every policy-load record, in chain order (read ahead of verification to judge purges).</summary>
    public IReadOnlyList<PolicyLoadBody> ReadPolicyLoads()
    {
        using var command = Command("");
        return PurgeSelection.PolicyLoads(command, EncodingColumn);
    }

    /// <summary>
    /// The first record sequenced at or after <paramref name="ticks"/>, by bisecting idx (time never
    /// decreases along the chain); null when there is none. O(log n) primary-key lookups.
    /// </summary>
    public long? FirstIndexAtOrAfter(long ticks) => Bisect(ticks, first: true);

    /// <summary>The last record sequenced at or before <paramref name="ticks"/> (bisection as above); null when none.</summary>
    public long? LastIndexAtOrBefore(long ticks) => Bisect(ticks, first: false);

    // Each probe reads the record nearest the midpoint on the search's side of it (idx has gaps where a
    // purge left none), and narrows towards the first record at or after, or the last at or before, ticks.
    private long? Bisect(long ticks, bool first)
    {
        if (Bounds() is not var (lo, hi))
        {
            return null;
        }

        long? candidate = null;
        using var probe = Command(first
            ? "SELECT idx, time FROM records WHERE idx >= $at ORDER BY idx LIMIT 1"
            : "SELECT idx, time FROM records WHERE idx <= $at ORDER BY idx DESC LIMIT 1");
        var at = probe.Parameters.Add(new SqliteParameter { ParameterName = "$at" });
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            at.Value = mid;
            using var reader = probe.ExecuteReader();
            if (!reader.Read())
            {
                break;
            }

            var (index, time) = (reader.GetInt64(0), reader.GetInt64(1));
            if (first ? time >= ticks : time <= ticks)
            {
                candidate = index;
                (lo, hi) = first ? (lo, mid - 1) : (mid + 1, hi);
            }
            else
            {
                (lo, hi) = first ? (index + 1, hi) : (lo, index - 1);
            }
        }

        return candidate;
    }

    /// <summary>The last checkpoint sequenced before <paramref name="ticks"/> (from the type index); null when none.</summary>
    public long? LastCheckpointBefore(long ticks)
    {
        using var command = Command("SELECT idx FROM records WHERE type = 'checkpoint' AND time < $before ORDER BY time DESC, idx DESC LIMIT 1");
        command.Parameters.AddWithValue("$before", ticks);
        return command.ExecuteScalar() is long index ? index : null;
    }

    /// <summary>Record count per client key among records of a type in a time window (reads the type index only, no payloads).</summary>
    public IReadOnlyList<(string? Clients, long Count)> CountByClients(string type, long fromTicks, long toTicks)
    {
        var counts = new List<(string?, long)>();
        // A row joining handed-over entries counts each of them.
        using var command = Command($"SELECT clients, {(HasEntries ? "sum(coalesce(entries, 1))" : "count(*)")} FROM records WHERE type = $type AND time >= $from AND time <= $to GROUP BY clients");
        command.Parameters.AddWithValue("$type", type);
        command.Parameters.AddWithValue("$from", fromTicks);
        command.Parameters.AddWithValue("$to", toTicks);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            counts.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1)));
        }

        return counts;
    }

    /// <summary>Record count per client key among the records <paramref name="fromIndex"/>..<paramref name="toIndex"/> (of a type, when given); no payloads read.</summary>
    public IReadOnlyList<(string? Clients, long Count)> CountByClients(long fromIndex, long toIndex, string? type)
    {
        var counts = new List<(string?, long)>();
        using var command = Command($"SELECT clients, count(*) FROM records WHERE idx >= $from AND idx <= $to {(type is null ? "" : "AND type = $type")} GROUP BY clients");
        command.Parameters.AddWithValue("$from", fromIndex);
        command.Parameters.AddWithValue("$to", toIndex);
        if (type is not null)
        {
            command.Parameters.AddWithValue("$type", type);
        }

        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            counts.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1)));
        }

        return counts;
    }

    /// <summary>Every record in index order, optionally starting at an index.</summary>
    public IEnumerable<StoredRecord> ReadRecords(long fromIndex = 0, string? where = null, Action<SqliteCommand>? bind = null)
    {
        using var command = Command($"SELECT {RecordColumns} FROM records WHERE idx >= $from {(where is null ? "" : "AND " + where)} ORDER BY idx");
        command.Parameters.AddWithValue("$from", fromIndex);
        bind?.Invoke(command);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ToRecord(reader);
        }
    }

    /// <summary>The records a whole statement selects (its columns <see cref="RecordColumns"/>), in the statement's order.</summary>
    public IEnumerable<StoredRecord> ReadRecords(string sql, Action<SqliteCommand>? bind)
    {
        using var command = Command(sql);
        bind?.Invoke(command);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ToRecord(reader);
        }
    }

    /// <summary>SQLite's plan for a statement (EXPLAIN QUERY PLAN), one step a line.</summary>
    public string Explain(string sql, Action<SqliteCommand>? bind)
    {
        using var command = Command("EXPLAIN QUERY PLAN " + sql);
        bind?.Invoke(command);
        using var reader = command.ExecuteReader();
        var steps = new List<string>();
        while (reader.Read())
        {
            steps.Add(reader.GetString(3));
        }

        return string.Join('\n', steps);
    }

    /// <summary>
    /// Streams every row into a verifier without building records (the fast path): a raw SQLite statement
    /// read in batches on this thread while another computes the previous batch's digests and walks it,
    /// in order, through the verifier — reading, the largest part, overlaps everything else.
    /// </summary>
    /// <param name="verifier">Where the rows go.</param>
    /// <param name="directColumns">Read columns straight from SQLite when it can (false: through SQLitePCL, as tests compare).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public void Feed(ChainVerifier verifier, bool directColumns, CancellationToken cancellationToken)
    {
        var db = _connection.Handle ?? throw new InvalidOperationException("the store connection is closed");
        var entries = HasEntries;
        var rc = raw.sqlite3_prepare_v2(db, $"SELECT {Schema.Columns}, {(entries ? "entries" : "NULL")}, {EncodingColumn} FROM records ORDER BY idx", out sqlite3_stmt statement);
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
        }

        using (statement)
        {
            var types = new Utf8StringCache();
            var clientKeys = new Utf8StringCache();
            var handle = directColumns && SqliteColumns.IsAvailable ? SqliteColumns.Handle(statement) : IntPtr.Zero;
            var reading = new VerifyBatch();
            var checking = new VerifyBatch();
            rc = Fill(reading);
            while (reading.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (reading, checking) = (checking, reading);
                var batch = checking;
                var check = Task.Run(() => Check(batch), cancellationToken);
                reading.Clear();
                if (rc == raw.SQLITE_ROW)
                {
                    rc = Fill(reading);
                }

                if (!check.GetAwaiter().GetResult())
                {
                    return;
                }
            }

            if (rc != raw.SQLITE_DONE)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            }

            bool Check(VerifyBatch batch)
            {
                batch.ComputeDigests(entries);
                for (var row = 0; row < batch.Count; row++)
                {
                    if (!batch.Feed(verifier, row))
                    {
                        return false;
                    }
                }

                return true;
            }

            int Fill(VerifyBatch batch)
            {
                var result = raw.SQLITE_ROW;
                while (!batch.IsFull)
                {
                    result = handle != IntPtr.Zero ? SqliteColumns.StepRow(handle) : raw.sqlite3_step(statement);
                    if (result != raw.SQLITE_ROW)
                    {
                        break;
                    }

                    if (handle != IntPtr.Zero)
                    {
                        batch.Add(handle, types, clientKeys);
                    }
                    else
                    {
                        batch.Add(statement, types, clientKeys);
                    }
                }

                return result;
            }
        }
    }

    /// <summary>The lowest and highest idx present; null for an empty store.</summary>
    private (long Low, long High)? Bounds()
    {
        using var command = Command("SELECT min(idx), max(idx) FROM records");
        using var reader = command.ExecuteReader();
        return reader.Read() && !reader.IsDBNull(0) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    /// <summary>The record of the current row (columns <see cref="RecordColumns"/>), its payload as written.</summary>
    /// <exception cref="InvalidOperationException">The row's stored payload cannot be read back (edited, or an encoding this version does not know).</exception>
    public static StoredRecord ToRecord(SqliteDataReader reader)
    {
        var index = reader.GetInt64(0);
        return new()
        {
            Index = index,
            Time = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero),
            Type = reader.GetString(2),
            Clients = reader.IsDBNull(3) ? null : reader.GetString(3),
            Payload = reader.IsDBNull(4) ? (ReadOnlyMemory<byte>?)null : PayloadEncoding.Decode(index, (byte[])reader.GetValue(4), reader.IsDBNull(8) ? null : reader.GetString(8)),
            PayloadSha256 = (byte[])reader.GetValue(5),
            PreviousHash = (byte[])reader.GetValue(6),
            Hash = (byte[])reader.GetValue(7),
        };
    }

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
