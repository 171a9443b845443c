using System.Diagnostics;
using System.Globalization;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>
/// The writer keeps SQLite's lock on the store file while readers in its own process come and go, so that no
/// other process takes the writer for gone: SQLite's last connection to close checkpoints the write-ahead log
/// and deletes it, and one that did so under a live writer would leave it committing into a deleted log —
/// its commits unseen by every other reader until a checkpoint, and lost with it if it crashed.
/// </summary>
public sealed class WriterLogTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task InProcessReaders_WriterKeepsItsLock_AnotherProcessClosingLeavesTheLog_CommitsSeenAtOnce()
    {
        var path = _dir.File("live.db");
        await using var store = await Stores.OpenAsync(path);
        await Stores.FillAsync(store, 3);
        Assert.True(HoldsLock(path), "the writer holds no lock on the store once open");

        // Readers in the writer's process, as the controller's audits, incidents and reports are.
        Assert.Equal(3, StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access }).Count);
        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
        Assert.True(HoldsLock(path), "a reader in the writer's process took the writer's lock away");

        // Another process opens the store read-write and closes it (an operator's sqlite3, a backup script).
        Assert.Equal("3", Sqlite3(path, "SELECT count(*) FROM records WHERE type = 'access';"));
        Assert.True(File.Exists(path + "-wal"), "another process's close deleted the writer's log");

        // What the writer commits now, another process sees at once.
        var index = await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"after"}"""), CancellationToken.None);
        Assert.Equal(index.ToString(CultureInfo.InvariantCulture), Sqlite3(path, "SELECT max(idx) FROM records;"));
    }

    // Whether this process holds a POSIX record lock on the file (SQLite's locks on a database in WAL mode).
    private static bool HoldsLock(string path)
    {
        var inode = Inode(path);
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/locks")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f.Length > 5 && f[1] == "POSIX" && f[4] == pid && f[5].EndsWith(":" + inode, StringComparison.Ordinal));
    }

    private static string Inode(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var inode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return inode;
    }

    // The sqlite3 command-line shell, in a process of its own, opening the store read-write.
    private static string Sqlite3(string path, string sql)
    {
        using var process = Process.Start(new ProcessStartInfo("sqlite3", [path, sql])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "sqlite3 did not end");
        Assert.True(process.ExitCode == 0, error);
        return output.Trim();
    }
}
