using Microsoft.Data.Sqlite;

namespace SegmentController.Storage.Sqlite;

/// <summary>Opens connections to a store file.</summary>
internal static class SqliteConnections
{
    /// <summary>The writer's connection: WAL, and every commit synced before it returns.</summary>
    public static SqliteConnection OpenWriter(string path)
    {
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

            Execute(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");

            // A store at the current schema opens without writing: only a new or older store is changed here.
            if (!IsCurrent(connection))
            {
                Execute(connection, Schema.Create);
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
    public static SqliteConnection OpenReader(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"store {path} does not exist", path);
        }

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
