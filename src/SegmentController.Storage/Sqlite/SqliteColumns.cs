using System.Runtime.InteropServices;
using SQLitePCL;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// Reads the current row of a statement straight from SQLite (<c>e_sqlite3</c>, the library
/// Microsoft.Data.Sqlite loaded) through function pointers: verification reads a dozen values per row for
/// millions of rows, and SQLitePCL's wrappers add a SafeHandle reference count and an indirection to each.
/// The column accessors neither block nor call back, so they skip the GC transition. When the library's
/// exports cannot be found, <see cref="IsAvailable"/> is false and callers use SQLitePCL.
/// </summary>
/// <remarks>A statement's values are valid until its next step: copy what you keep.</remarks>
internal static unsafe class SqliteColumns
{
    private static readonly delegate* unmanaged<IntPtr, int> Step;
    private static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int> ColumnType;
    private static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, long> ColumnInt64;
    private static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int> ColumnBytes;
    private static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, byte*> ColumnBlob;

#pragma warning disable CA1810 // The exports are resolved once, together, or not at all.
    static SqliteColumns()
#pragma warning restore CA1810
    {
        if (!NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteColumns).Assembly, null, out var library)
            || !NativeLibrary.TryGetExport(library, "sqlite3_step", out var step)
            || !NativeLibrary.TryGetExport(library, "sqlite3_column_type", out var type)
            || !NativeLibrary.TryGetExport(library, "sqlite3_column_int64", out var int64)
            || !NativeLibrary.TryGetExport(library, "sqlite3_column_bytes", out var bytes)
            || !NativeLibrary.TryGetExport(library, "sqlite3_column_blob", out var blob))
        {
            return;
        }

        Step = (delegate* unmanaged<IntPtr, int>)step;
        ColumnType = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int>)type;
        ColumnInt64 = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, long>)int64;
        ColumnBytes = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int>)bytes;
        ColumnBlob = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, byte*>)blob;
        IsAvailable = true;
    }

    /// <summary>True when the direct path is in use.</summary>
    public static bool IsAvailable { get; }

    public static int StepRow(IntPtr statement) => Step(statement);

    public static int Type(IntPtr statement, int column) => ColumnType(statement, column);

    public static long Int64(IntPtr statement, int column) => ColumnInt64(statement, column);

    /// <summary>The column as bytes (empty for NULL); valid until the next step.</summary>
    public static ReadOnlySpan<byte> Blob(IntPtr statement, int column)
    {
        // sqlite3_column_blob first, then sqlite3_column_bytes: the order SQLite documents.
        var data = ColumnBlob(statement, column);
        var length = ColumnBytes(statement, column);
        return data is null || length <= 0 ? [] : new ReadOnlySpan<byte>(data, length);
    }

    /// <summary>The raw handle of a prepared statement (the caller keeps the SafeHandle alive).</summary>
    public static IntPtr Handle(sqlite3_stmt statement) => statement.DangerousGetHandle();
}
