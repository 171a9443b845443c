using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// The store becomes unwritable under a running controller: an ext4 file system on a loop device
/// (errors=remount-ro) put into the read-only state the kernel enters after an I/O error — root cannot
/// write either. The controller keeps running closed: appends refused, <c>log-integrity-failure</c> on
/// /metrics, /healthz 503. And a store that refuses the policy load at start leaves it running closed too.
/// </summary>
public sealed class ReadOnlyStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-rostore-").FullName;
    private readonly string _mount;
    private readonly string _image;

    public ReadOnlyStoreTests()
    {
        _image = Path.Combine(_dir, "store.img");
        _mount = Path.Combine(_dir, "mnt");
        Directory.CreateDirectory(_mount);
        using (var image = File.Create(_image))
        {
            image.SetLength(64L << 20);
        }

        Run("mkfs.ext4", "-q", "-F", _image);
        Run("mount", "-o", "loop,errors=remount-ro", _image, _mount);
    }

    public void Dispose()
    {
        Run("umount", _mount);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task StoreTurnsReadOnly_AppendsRefused_LogIntegrityFailureOnMetrics_HealthzDown()
    {
        await using var site = new EvidenceSite(Path.Combine(_dir, "site"), Path.Combine(_mount, "segctl.db"));
        await site.StartAsync();
        var appender = site.Service<IRecordAppender>();
        await appender.AppendAsync(RecordTypes.OperatorAction, null, Encoding.UTF8.GetBytes("""{"action":"before"}"""), CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, (await site.HealthAsync()).Status);

        MakeReadOnly();

        var refused = await Assert.ThrowsAsync<StoreUnavailableException>(async () =>
            await appender.AppendAsync(RecordTypes.OperatorAction, null, Encoding.UTF8.GetBytes("""{"action":"after"}"""), CancellationToken.None));
        Assert.Contains("cannot be written", refused.Message, StringComparison.Ordinal);
        Assert.False(appender.Health.IsWritable);

        await EvidenceSite.WaitUntilAsync(
            async () => (await site.MetricsAsync()).Contains("segctl_findings_total{rule=\"log-integrity-failure\",severity=\"critical\",client=\"none\"} 1", StringComparison.Ordinal),
            "log-integrity-failure on /metrics");
        var metrics = await site.MetricsAsync();
        Assert.Contains("segctl_verification_healthy{source=\"store\"} 0", metrics, StringComparison.Ordinal);
        var (status, sources) = await site.HealthAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(sources["store"]);

        // Every later append is refused too — never dropped silently — and the alert is raised once per outage.
        await Assert.ThrowsAsync<StoreUnavailableException>(async () =>
            await appender.AppendAsync(RecordTypes.OperatorAction, null, Encoding.UTF8.GetBytes("""{"action":"later"}"""), CancellationToken.None));
        Assert.Contains("segctl_findings_total{rule=\"log-integrity-failure\",severity=\"critical\",client=\"none\"} 1", await site.MetricsAsync(), StringComparison.Ordinal);

        // What was acknowledged before is there and verifies (reading still works).
        var report = StoreVerifier.Verify(site.StorePath, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction }));
        await site.StopAsync();
    }

    [Fact]
    public async Task StoreReadOnlyAtStart_ControllerRunsClosed_AlertVisible()
    {
        await using var site = new EvidenceSite(Path.Combine(_dir, "site"), Path.Combine(_mount, "segctl.db"));
        await site.StartAsync();
        await site.StopAsync();
        MakeReadOnly();

        await site.StartAsync();
        await EvidenceSite.WaitUntilAsync(
            async () => System.Text.RegularExpressions.Regex.IsMatch(await site.MetricsAsync(), @"segctl_findings_total\{rule=""log-integrity-failure"",severity=""critical"",client=""none""\} [1-9]"),
            "log-integrity-failure on /metrics");
        var (status, sources) = await site.HealthAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(sources["store"]);
        await Assert.ThrowsAsync<StoreUnavailableException>(async () =>
            await site.Service<IRecordAppender>().AppendAsync(RecordTypes.OperatorAction, null, Encoding.UTF8.GetBytes("{}"), CancellationToken.None));
    }

    [Fact]
    public async Task PolicyLoadRefusedAtStart_ControllerRunsClosed_LoadWrittenOnceTheStoreTakesRecordsAgain()
    {
        await using var site = new EvidenceSite(Path.Combine(_dir, "site"));
        await site.StartAsync();
        await site.StopAsync();

        // Someone holds the database's write lock (an open write transaction): the controller opens the
        // store (reading is fine) but its policy load cannot be committed.
        var holder = new SqliteConnection($"Data Source={site.StorePath};Pooling=False");
        holder.Open();
        var transaction = holder.BeginTransaction(deferred: false);
        try
        {
            await site.StartAsync();
            var (status, sources) = await site.HealthAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.False(sources["store"]);
            await EvidenceSite.WaitUntilAsync(
                async () => System.Text.RegularExpressions.Regex.IsMatch(await site.MetricsAsync(), @"segctl_findings_total\{rule=""log-integrity-failure"",severity=""critical"",client=""none""\} [1-9]"),
                "log-integrity-failure on /metrics");
            Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.PolicyLoad }));
        }
        finally
        {
            transaction.Rollback();
            transaction.Dispose();
            holder.Dispose();
        }

        // The owed policy load goes in as soon as the store takes it, and the store is healthy again.
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.PolicyLoad }).Count == 2), "the policy load, retried", TimeSpan.FromSeconds(60));
        await EvidenceSite.WaitUntilAsync(async () => (await site.HealthAsync()).Status == HttpStatusCode.OK, "the store healthy again");
        await site.StopAsync();
        Assert.True(StoreVerifier.Verify(site.StorePath, CancellationToken.None).IsIntact);
    }

    /// <summary>What the kernel does to an ext4 file system after an I/O error (errors=remount-ro): read-only for everyone, root included.</summary>
    private void MakeReadOnly()
    {
        var device = Path.GetFileName(Capture("findmnt", "-n", "-o", "SOURCE", _mount).Trim());
        File.WriteAllText($"/sys/fs/ext4/{device}/trigger_fs_error", "segctl test: store file system turned read-only");
    }

    private static void Run(string file, params string[] args) => Capture(file, args);

    private static string Capture(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
    }
}
