using SegmentController.Storage.Chain;
using SQLitePCL;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// A batch of rows copied out of the records table for verification, with each row's digests computed
/// (<see cref="RecordDigests"/>) before the verifier walks the batch in order — on another thread than the
/// one reading the next batch.
/// </summary>
internal sealed class VerifyBatch
{
    public const int Rows = 4096;

    private const int DigestBytes = 3 * RecordHasher.HashSize;

    private readonly long[] _index = new long[Rows];
    private readonly long[] _ticks = new long[Rows];
    private readonly string[] _type = new string[Rows];
    private readonly string?[] _clients = new string?[Rows];
    private readonly bool[] _hasPayload = new bool[Rows];
    private readonly bool[] _computed = new bool[Rows];

    // The entries column as stored (null: none), and whether it matches what the payload implies.
    private readonly long?[] _entries = new long?[Rows];
    private readonly bool[] _entriesMatch = new bool[Rows];

    // Why a row's stored payload could not be read back (null: it was).
    private readonly string?[] _payloadProblem = new string?[Rows];

    // Per row, the payload and the three stored hashes, as (offset, length) into _arena.
    private readonly (int Offset, int Length)[,] _blobs = new (int, int)[Rows, 4];
    private readonly byte[] _digests = new byte[Rows * DigestBytes];
    private byte[] _arena = new byte[Rows * (200 + DigestBytes)];
    private int _used;

    // A batch also ends once its copied bytes pass this, so large payloads do not multiply memory.
    private const int MaxArenaBytes = 16 << 20;

    public int Count { get; private set; }

    /// <summary>No room for another row.</summary>
    public bool IsFull => Count >= Rows || _used >= MaxArenaBytes;

    public void Clear()
    {
        Count = 0;
        _used = 0;
    }

    /// <summary>
    /// Copies the current row of <paramref name="statement"/> (columns as in <see cref="Schema.Columns"/>, then
    /// <c>entries</c> and <c>encoding</c>), read directly; a deflated payload is inflated as it is copied.
    /// </summary>
    public void Add(IntPtr statement, Utf8StringCache types, Utf8StringCache clientKeys)
    {
        var row = Count++;
        _index[row] = SqliteColumns.Int64(statement, 0);
        _ticks[row] = SqliteColumns.Type(statement, 1) == raw.SQLITE_NULL ? -1 : SqliteColumns.Int64(statement, 1);
        _type[row] = SqliteColumns.Type(statement, 2) == raw.SQLITE_NULL ? "" : types.Get(SqliteColumns.Blob(statement, 2));
        _clients[row] = SqliteColumns.Type(statement, 3) == raw.SQLITE_NULL ? null : clientKeys.Get(SqliteColumns.Blob(statement, 3));
        _hasPayload[row] = SqliteColumns.Type(statement, 4) != raw.SQLITE_NULL;
        _entries[row] = SqliteColumns.Type(statement, 8) == raw.SQLITE_NULL ? null : SqliteColumns.Int64(statement, 8);
        var encoding = SqliteColumns.Type(statement, 9) == raw.SQLITE_NULL ? null : PayloadEncoding.Name(SqliteColumns.Blob(statement, 9));
        // Column types as the typed reader saw them: a payload or hash that is not a BLOB reads as empty.
        CopyPayload(row, SqliteColumns.Type(statement, 4) == raw.SQLITE_BLOB ? SqliteColumns.Blob(statement, 4) : [], encoding);
        for (var column = 1; column < 4; column++)
        {
            Copy(row, column, SqliteColumns.Type(statement, 4 + column) == raw.SQLITE_BLOB ? SqliteColumns.Blob(statement, 4 + column) : []);
        }
    }

    /// <summary>Copies the current row of <paramref name="statement"/> through SQLitePCL (where the direct path is not available).</summary>
    public void Add(sqlite3_stmt statement, Utf8StringCache types, Utf8StringCache clientKeys)
    {
        var row = Count++;
        _index[row] = raw.sqlite3_column_int64(statement, 0);
        _ticks[row] = raw.sqlite3_column_type(statement, 1) == raw.SQLITE_NULL ? -1 : raw.sqlite3_column_int64(statement, 1);
        _type[row] = raw.sqlite3_column_type(statement, 2) == raw.SQLITE_NULL ? "" : types.Get(raw.sqlite3_column_blob(statement, 2));
        _clients[row] = raw.sqlite3_column_type(statement, 3) == raw.SQLITE_NULL ? null : clientKeys.Get(raw.sqlite3_column_blob(statement, 3));
        _hasPayload[row] = raw.sqlite3_column_type(statement, 4) != raw.SQLITE_NULL;
        _entries[row] = raw.sqlite3_column_type(statement, 8) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(statement, 8);
        var encoding = raw.sqlite3_column_type(statement, 9) == raw.SQLITE_NULL ? null : PayloadEncoding.Name(raw.sqlite3_column_blob(statement, 9));
        // Column types as the typed reader saw them: a payload or hash that is not a BLOB reads as empty.
        CopyPayload(row, raw.sqlite3_column_type(statement, 4) == raw.SQLITE_BLOB ? raw.sqlite3_column_blob(statement, 4) : [], encoding);
        for (var column = 1; column < 4; column++)
        {
            Copy(row, column, raw.sqlite3_column_type(statement, 4 + column) == raw.SQLITE_BLOB ? raw.sqlite3_column_blob(statement, 4 + column) : []);
        }
    }

    // The payload as written: copied, or inflated from its stored form (a row that cannot be is kept empty, with the reason).
    private void CopyPayload(int row, ReadOnlySpan<byte> stored, string? encoding)
    {
        _payloadProblem[row] = null;
        if (encoding is null || !_hasPayload[row])
        {
            Copy(row, 0, stored);
            return;
        }

        if (PayloadEncoding.TryInflate(stored, encoding, ref _arena, _used, out var length, out var problem))
        {
            _blobs[row, 0] = (_used, length);
            _used += length;
        }
        else
        {
            _blobs[row, 0] = (_used, 0);
            _payloadProblem[row] = problem;
        }
    }

    private void Copy(int row, int column, ReadOnlySpan<byte> blob)
    {
        if (_used + blob.Length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _used + blob.Length));
        }

        blob.CopyTo(_arena.AsSpan(_used));
        _blobs[row, column] = (_used, blob.Length);
        _used += blob.Length;
    }

    /// <summary>
    /// Computes every row's digests, and (<paramref name="entries"/>: the store has the column) whether its
    /// entries column is what its payload implies (a purged row's cannot be checked). A row too malformed
    /// to hash is left to the verifier.
    /// </summary>
    public void ComputeDigests(bool entries)
    {
        for (var row = 0; row < Count; row++)
        {
            _entriesMatch[row] = !entries || !_hasPayload[row] || _entries[row] == ArrayEntries.Count(Blob(row, 0));
            var payloadSha256 = Blob(row, 1);
            var previousHash = Blob(row, 2);
            _computed[row] = payloadSha256.Length == RecordHasher.HashSize && previousHash.Length == RecordHasher.HashSize
                && _ticks[row] >= 0 && RecordHasher.Fits(_type[row], _clients[row]);
            if (!_computed[row])
            {
                continue;
            }

            var digests = _digests.AsSpan(row * DigestBytes, DigestBytes);
            if (_hasPayload[row])
            {
                RecordHasher.PayloadDigest(Blob(row, 0), digests[..RecordHasher.HashSize]);
            }

            var content = digests.Slice(RecordHasher.HashSize, RecordHasher.HashSize);
            RecordHasher.ContentDigest(_index[row], _ticks[row], _type[row], _clients[row], payloadSha256, content);
            RecordHasher.Link(content, previousHash, digests[(2 * RecordHasher.HashSize)..]);
        }
    }

    /// <summary>Hands row <paramref name="row"/> to the verifier; false once the chain is broken.</summary>
    public bool Feed(ChainVerifier verifier, int row)
    {
        if (_payloadProblem[row] is { } problem)
        {
            return verifier.RejectPayload(_index[row], _ticks[row], problem);
        }

        var digests = _computed[row]
            ? new RecordDigests(
                _digests.AsSpan(row * DigestBytes, RecordHasher.HashSize),
                _digests.AsSpan((row * DigestBytes) + RecordHasher.HashSize, RecordHasher.HashSize),
                _digests.AsSpan((row * DigestBytes) + (2 * RecordHasher.HashSize), RecordHasher.HashSize))
            : default;
        return verifier.AddRecord(_index[row], _ticks[row], _type[row], _clients[row], _hasPayload[row], Blob(row, 0), Blob(row, 1), Blob(row, 2), Blob(row, 3), digests)
            && (_entriesMatch[row] || verifier.RejectEntries(_index[row], _ticks[row], _entries[row], ArrayEntries.Count(Blob(row, 0))));
    }

    private ReadOnlySpan<byte> Blob(int row, int column)
    {
        var (offset, length) = _blobs[row, column];
        return _arena.AsSpan(offset, length);
    }
}
