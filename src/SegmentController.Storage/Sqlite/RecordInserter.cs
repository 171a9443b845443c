using System.Text;
using Microsoft.Data.Sqlite;
using SegmentController.Storage.Chain;
using SQLitePCL;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// Inserts chained records through raw prepared SQLite statements, bound in place: full chunks of
/// <see cref="RowsPerStatement"/> rows through one multi-row INSERT, the rest one by one. Against
/// Microsoft.Data.Sqlite's command per row this saves its per-call checks, boxing and parameter lookups,
/// which cost more than SQLite's own insert.
/// </summary>
/// <remarks>Used by the store's writer task only, inside the transaction it opened on the same connection.</remarks>
internal sealed class RecordInserter : IDisposable
{
    public const int RowsPerStatement = 32;

    private const int Columns = 10;

    // Client keys are ASCII and at most ClientKey.MaxLength characters.
    private const int ClientKeyBytes = Core.Evidence.ClientKey.MaxLength;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _one;
    private readonly sqlite3_stmt _many;
    private readonly PayloadDeflater _deflater = new();

    public RecordInserter(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _db = connection.Handle ?? throw new InvalidOperationException("the store connection is not open");
        _one = Prepare(1);
        try
        {
            _many = Prepare(RowsPerStatement);
        }
        catch
        {
            _one.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inserts rows <paramref name="count"/> rows: row i is index <paramref name="firstIndex"/> + i, sequenced
    /// at <paramref name="ticks"/>, with the previous hash at slot i and its own hash at slot i + 1 of
    /// <paramref name="hashes"/> (32 bytes each).
    /// </summary>
    /// <exception cref="SqliteException">SQLite refused a row.</exception>
    public void Insert(int count, long firstIndex, long ticks, Func<int, PendingAppend> row, ReadOnlySpan<byte> hashes)
    {
        var done = 0;
        while (count - done >= RowsPerStatement)
        {
            for (var i = 0; i < RowsPerStatement; i++)
            {
                Bind(_many, i * Columns, firstIndex + done + i, ticks, row(done + i), hashes, done + i);
            }

            Step(_many);
            done += RowsPerStatement;
        }

        for (; done < count; done++)
        {
            Bind(_one, 0, firstIndex + done, ticks, row(done), hashes, done);
            Step(_one);
        }
    }

    public void Dispose()
    {
        _one.Dispose();
        _many.Dispose();
        _deflater.Dispose();
    }

    private void Bind(sqlite3_stmt statement, int offset, long index, long ticks, PendingAppend append, ReadOnlySpan<byte> hashes, int slot)
    {
        Span<byte> type = stackalloc byte[64];
        var typeLength = Encoding.UTF8.GetBytes(append.Type, type);
        Span<byte> clients = stackalloc byte[ClientKeyBytes];
        var clientsLength = append.Clients is null ? 0 : Encoding.UTF8.GetBytes(append.Clients, clients);
        Check(raw.sqlite3_bind_int64(statement, offset + 1, index));
        Check(raw.sqlite3_bind_int64(statement, offset + 2, ticks));
        Check(raw.sqlite3_bind_text(statement, offset + 3, type[..typeLength]));
        Check(append.Clients is null ? raw.sqlite3_bind_null(statement, offset + 4) : raw.sqlite3_bind_text(statement, offset + 4, clients[..clientsLength]));
        // Bound as a copy (SQLite's transient binding): the deflater's buffer serves the next row at once.
        Check(raw.sqlite3_bind_blob(statement, offset + 5, _deflater.Store(append.Payload.Span, append.Deflatable, out var encoding)));
        Check(raw.sqlite3_bind_blob(statement, offset + 6, append.PayloadSha256));
        Check(raw.sqlite3_bind_blob(statement, offset + 7, hashes.Slice(slot * RecordHasher.HashSize, RecordHasher.HashSize)));
        Check(raw.sqlite3_bind_blob(statement, offset + 8, hashes.Slice((slot + 1) * RecordHasher.HashSize, RecordHasher.HashSize)));
        Check(append.Entries is { } entries ? raw.sqlite3_bind_int64(statement, offset + 9, entries) : raw.sqlite3_bind_null(statement, offset + 9));
        Check(encoding is null ? raw.sqlite3_bind_null(statement, offset + 10) : raw.sqlite3_bind_text(statement, offset + 10, encoding));
    }

    private void Step(sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }

    private sqlite3_stmt Prepare(int rows)
    {
        var values = string.Join(", ", Enumerable.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows));
        var rc = raw.sqlite3_prepare_v3(_db, $"INSERT INTO records({Schema.Columns}, entries, encoding) VALUES {values}", raw.SQLITE_PREPARE_PERSISTENT, out sqlite3_stmt statement);
        if (rc != raw.SQLITE_OK)
        {
            statement.Dispose();
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }

        return statement;
    }
}
