using System.Diagnostics;
using System.Globalization;
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
}
