using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>One writer per store: a second writer, in another process or this one, is refused and told who holds the store.</summary>
public sealed class StoreLockTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task SecondWriterProcess_RefusedNamingTheHolder_FreeOnceItDies()
    {
        var path = _dir.File("locked.db");
        var writer = Path.Combine(AppContext.BaseDirectory, "SegmentController.Storage.CrashWriter.dll");
        using var process = Process.Start(new ProcessStartInfo("dotnet", $"\"{writer}\" \"{path}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Assert.Equal("ready", await process.StandardError.ReadLineAsync(timeout.Token));
            Assert.NotNull(await process.StandardOutput.ReadLineAsync(timeout.Token));

            var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => Stores.OpenAsync(path));
            Assert.Contains("in use by another writer", refused.Message, StringComparison.Ordinal);
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"pid {process.Id}:"), refused.Message, StringComparison.Ordinal);
            Assert.Contains("CrashWriter", refused.Message, StringComparison.Ordinal);
            Assert.StartsWith(string.Create(CultureInfo.InvariantCulture, $"pid {process.Id}:"), StoreLock.Holder(path), StringComparison.Ordinal);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // The kernel dropped the lock with the process: the store opens and its chain holds.
        await using (var store = await Stores.OpenAsync(path))
        {
            Assert.True(store.Health.IsWritable);
        }

        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task SecondOpenThroughSymbolicLinks_Refused()
    {
        var path = _dir.File("linked.db");
        var key = path + ".key.pem";
        var elsewhere = Directory.CreateDirectory(_dir.File("elsewhere")).FullName;
        var fileLink = Path.Combine(elsewhere, "alias.db");
        var directoryLink = _dir.File("mounted");
        await using (var first = await OpenWithKeyAsync(path, key))
        {
            File.CreateSymbolicLink(fileLink, path);
            Directory.CreateSymbolicLink(directoryLink, _dir.Path);

            // The same database under another name, with the site's key: a second controller so configured is still a second writer.
            var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => OpenWithKeyAsync(fileLink, key));
            Assert.Contains("in use by another writer", refused.Message, StringComparison.Ordinal);
            refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => OpenWithKeyAsync(Path.Combine(directoryLink, "linked.db"), key));
            Assert.Contains("in use by another writer", refused.Message, StringComparison.Ordinal);
            Assert.NotNull(StoreLock.Holder(fileLink));
        }

        await using (var again = await OpenWithKeyAsync(fileLink, key))
        {
            Assert.True(again.Health.IsWritable);
        }

        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
    }

    private static Task<SqliteEvidenceStore> OpenWithKeyAsync(string path, string key) =>
        SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = key, CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.Zero },
            new FakeTimeProvider(Stores.Start),
            CancellationToken.None);

    [Fact]
    public async Task SecondOpenInSameProcess_Refused_UntilFirstCloses()
    {
        var path = _dir.File("twice.db");
        await using (var first = await Stores.OpenAsync(path))
        {
            await first.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("{}"), CancellationToken.None);
            var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => Stores.OpenAsync(path));
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId}:"), refused.Message, StringComparison.Ordinal);

            // Readers take no lock.
            Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
        }

        await using var again = await Stores.OpenAsync(path);
        await again.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("{}"), CancellationToken.None);
    }

    // A child process started by any thread of this one holds a copy of every descriptor from its fork
    // until its exec closes the close-on-exec ones: a second descriptor of the lock file's open file
    // description, as these tests hold one (a dup) across the close.

    [Fact]
    public async Task Closed_WhileAnotherDescriptorOfItsLockFileLivesOn_ReopensAtOnce()
    {
        var path = _dir.File("shared.db");
        int copy;
        await using (var store = await Stores.OpenAsync(path))
        {
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("{}"), CancellationToken.None);
            copy = DuplicateLockDescriptor(path);
        }

        try
        {
            // The close returned: the store is free, whoever still shares its lock file.
            await using var again = await Stores.OpenAsync(path);
            await again.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("{}"), CancellationToken.None);
        }
        finally
        {
            _ = Close(copy);
        }

        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
    }

    [Fact]
    public void LockDisposed_WhileAnotherDescriptorOfItsFileLivesOn_CanBeTakenAgain()
    {
        var path = _dir.File("lock-only.db");
        var held = StoreLock.Acquire(path);
        var copy = DuplicateLockDescriptor(path);
        try
        {
            Assert.Throws<StoreUnavailableException>(() => StoreLock.Acquire(path).Dispose());
            held.Dispose();
            StoreLock.Acquire(path).Dispose();
        }
        finally
        {
            held.Dispose();
            _ = Close(copy);
        }
    }

    /// <summary>A second descriptor (close-on-exec) of the open file description this process holds the store's writer lock through.</summary>
    private static int DuplicateLockDescriptor(string storePath)
    {
        var lockPath = StoreLock.PathFor(Path.GetFullPath(storePath));
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while listed
            }

            // Readers of the holder open the file too, read-only and briefly; the writer holds it read-write.
            if (string.Equals(target, lockPath, StringComparison.Ordinal)
                && int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd)
                && Fcntl(fd, FGetFl, 0) is var flags and >= 0 && (flags & OAccMode) == ORdWr)
            {
                var copy = Fcntl(fd, FDupFdCloexec, 0);
                Assert.True(copy >= 0, $"fcntl(F_DUPFD_CLOEXEC) failed: errno {Marshal.GetLastPInvokeError()}");
                return copy;
            }
        }

        Assert.Fail($"this process holds no descriptor of {lockPath}");
        return -1;
    }

    private const int FGetFl = 3;
    private const int FDupFdCloexec = 1030;
    private const int OAccMode = 3;
    private const int ORdWr = 2;

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Fcntl(int fd, int command, int argument);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Close(int fd);
}
