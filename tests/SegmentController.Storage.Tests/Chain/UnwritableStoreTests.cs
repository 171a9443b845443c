using System.Diagnostics;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

/// <summary>A store on a real, tiny tmpfs fills up: appends fail loudly and health says so; nothing committed is lost.</summary>
public sealed class UnwritableStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _mount;

    public UnwritableStoreTests()
    {
        _mount = _dir.File("small");
        Directory.CreateDirectory(_mount);
        Run("mount", $"-t tmpfs -o size=2m segctl-test {_mount}");
    }

    public void Dispose()
    {
        Run("umount", _mount);
        _dir.Dispose();
    }

    [Fact]
    public async Task DiskFull_AppendFaults_HealthFalse_CommittedRecordsVerify()
    {
        var path = Path.Combine(_mount, "full.db");
        var changes = new List<StoreHealth>();
        var acknowledged = 0L;
        StoreUnavailableException? failure = null;
        var payload = new byte[60 * 1024];
        Array.Fill(payload, (byte)'x');
        await using (var store = await Stores.OpenAsync(path))
        {
            store.HealthChanged += (_, health) => changes.Add(health);
            for (var i = 0; i < 200 && failure is null; i++)
            {
                try
                {
                    acknowledged = await store.AppendAsync(RecordTypes.Access, "alpha", payload, CancellationToken.None);
                }
                catch (StoreUnavailableException e)
                {
                    failure = e;
                }
            }

            Assert.NotNull(failure);
            Assert.False(store.Health.IsWritable);
            Assert.Contains("cannot be written", store.Health.LastError, StringComparison.Ordinal);
            Assert.Contains(changes, h => !h.IsWritable);

            // Room again: the next append commits and health recovers.
            Run("mount", $"-o remount,size=16m {_mount}");
            acknowledged = await store.AppendAsync(RecordTypes.Access, "alpha", payload, CancellationToken.None);
            Assert.True(store.Health.IsWritable);
        }

        Assert.True(acknowledged > 0);
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.True(report.Count >= acknowledged + 1);
    }

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments}: {process.StandardError.ReadToEnd()}");
        }
    }
}
