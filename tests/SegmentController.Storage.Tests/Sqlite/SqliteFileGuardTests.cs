using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>SQLite's own opens refuse a named pipe: a store swapped for one after it was checked fails instead of hanging.</summary>
public sealed class SqliteFileGuardTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task SqliteOpen_OfANamedPipe_FailsAtOnce_WithoutWaitingForAWriter()
    {
        SqliteFileGuard.Install();
        Assert.True(SqliteFileGuard.IsInstalled);
        var path = _dir.File("swapped.db");
        await MkFifoAsync(path);

        // As a store opened by path after its check, once the file was replaced by a pipe nobody writes to.
        var open = Task.Run(() =>
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master";
            return command.ExecuteScalar();
        });
        try
        {
            var e = await Assert.ThrowsAsync<SqliteException>(() => open.WaitAsync(TimeSpan.FromMinutes(1)));
            Assert.Equal(14, e.SqliteErrorCode); // SQLITE_CANTOPEN
        }
        finally
        {
            // An open still waiting on the pipe is let go: a writer that opens and closes again.
            if (!open.IsCompleted)
            {
                using var writer = new FileStream(path, FileMode.Open, FileAccess.Write);
            }
        }
    }

    [Fact]
    public async Task StoreHeldByItsWriter_WithUncheckpointedRecordsInTheWal_VerifiesIntact()
    {
        SqliteFileGuard.Install();
        var path = _dir.File("live.db");
        await using var store = await Stores.OpenAsync(path);
        await Stores.FillAsync(store, 20);

        Assert.True(new FileInfo(path + "-wal").Length > 0);
        var report = StoreVerifier.Verify(path, CancellationToken.None);

        Assert.Null(report.Problem);
        Assert.Equal(21, report.Count);
    }

    private static async Task MkFifoAsync(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path]);
        await mkfifo.WaitForExitAsync();
        Assert.Equal(0, mkfifo.ExitCode);
    }
}
