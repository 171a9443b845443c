using Microsoft.Data.Sqlite;
using SegmentController.Core.Policy;

namespace SegmentController.Storage.Sqlite;

/// <summary>Opens connections to a store file.</summary>
internal static class SqliteConnections
{
    /// <summary>
    /// WAL pages after which a commit copies the log back into the database (SQLite's default is 1,000):
    /// each checkpoint is a burst of writes and a sync of the database file, and a trip's own small sync
    /// of the suspension state, on the same disk, waits behind whatever burst is under way. A quarter of
    /// the default keeps the bursts short; the store's README has the measurements.
    /// </summary>
    public const int WalCheckpointPages = 256;

    /// <summary>The writer's connection: WAL, and every commit synced before it returns.</summary>
    public static SqliteConnection OpenWriter(string path)
    {
        SqliteFileGuard.Install();
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            var mode = Scalar(connection, "PRAGMA journal_mode=WAL;") as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"store {path} cannot use write-ahead logging (journal mode {mode})");
            }

            Execute(connection, $"PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA wal_autocheckpoint={WalCheckpointPages};");
            if (Altered(connection) is { } altered)
            {
                throw new InvalidOperationException($"its schema was altered: {altered}; run 'segctl log verify'");
            }

            // A store at the current schema opens without writing: only a new or older store is changed here.
            if (!IsCurrent(connection))
            {
                Execute(connection, Schema.Create);
                if (!HasColumn(connection, "records", "entries"))
                {
                    Execute(connection, Schema.AddEntries);
                    FillEntries(connection);
                }

                if (!HasColumn(connection, "records", "encoding"))
                {
                    Execute(connection, Schema.AddEncoding);
                }

                Execute(connection, Schema.Migrate);
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What in the file the store's writer never made, or null: a view or any other object in place of one of its
    /// tables, or a trigger. Read through, a view named <c>records</c> can yield rows without end (verification,
    /// an export or a writer's open would never return); a trigger fires on the writer's own inserts (it could
    /// drop them, or rewrite them, after the writer counted them durable).
    /// </summary>
    public static string? Altered(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT type, name FROM sqlite_master WHERE (name IN ('records', 'head', 'meta') AND type <> 'table') OR type NOT IN ('table', 'index') ORDER BY type, name LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? (reader.GetString(1) is "records" or "head" or "meta" ? $"{reader.GetString(1)} is a {reader.GetString(0)}, not a table" : $"it holds {reader.GetString(0)} {reader.GetString(1)}, which the store never makes")
            : null;
    }

    /// <summary>Whether <paramref name="table"/> has <paramref name="column"/> (a store made before a schema that added it does not).</summary>
    public static bool HasColumn(SqliteConnection connection, string table, string column, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM pragma_table_info($table) WHERE name = $column";
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$table", table);
        command.Parameters.AddWithValue("$column", column);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    // Rows written before the entries column: those whose payload is a JSON array get its count.
    private static void FillEntries(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        var counts = new List<(long Index, int Entries)>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT idx, payload FROM records WHERE payload IS NOT NULL AND substr(payload, 1, 1) = X'5B'";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                if (Chain.ArrayEntries.Count((byte[])reader.GetValue(1)) is { } entries)
                {
                    counts.Add((reader.GetInt64(0), entries));
                }
            }
        }

        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE records SET entries = $entries WHERE idx = $idx";
        var entriesParameter = update.Parameters.Add("$entries", SqliteType.Integer);
        var indexParameter = update.Parameters.Add("$idx", SqliteType.Integer);
        foreach (var (index, entries) in counts)
        {
            entriesParameter.Value = entries;
            indexParameter.Value = index;
            update.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static bool IsCurrent(SqliteConnection connection)
    {
        try
        {
            return Scalar(connection, "SELECT value FROM meta WHERE key = 'schema'") is string version
                && version == Schema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>A read-only connection (verification, export, reading).</summary>
    /// <exception cref="FileNotFoundException">No such file, or a directory.</exception>
    /// <exception cref="IOException">Not a regular file (a named pipe, a device, a socket).</exception>
    public static SqliteConnection OpenReader(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(Directory.Exists(path) ? $"store {path} is a directory, not a store file" : $"store {path} does not exist", path);
        }

        // SQLite would wait on a named pipe for a writer, forever: only a regular file is a store. Looked at by its
        // path (stat), never opened here: closing any descriptor of the store's file would drop every POSIX lock
        // this process holds on it — a live writer's in this process among them — and another process's last
        // connection to close would then take the writer for gone, checkpoint its log and delete it. SQLite's own
        // open (SqliteFileGuard) refuses, by the handle, a pipe put in the file's place since.
        if (BoundedFile.NotRegularReason(path) is { } notAStore)
        {
            throw new IOException(notAStore);
        }

        SqliteFileGuard.Install();

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout=5000;");
            return connection;
        }
        catch (SqliteException) when (BoundedFile.NotRegularReason(path) is { } reason)
        {
            connection.Dispose();
            throw new IOException(reason);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
