using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Evidence;
using SegmentController.Hosting;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Audits;

namespace SegmentController.Tests.Evidence;

/// <summary>The store's upkeep in <c>segctl run</c>: the retention purge, the background verification and what a broken chain raises.</summary>
public sealed class StoreMaintenanceTests
{
    [Fact]
    public async Task SegctlRun_PurgesRecordsPastRetention_OnSchedule_AndTheChainStillVerifies()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-purge-").FullName);

        // gamma's contract ended in 2015: its records, made while it ran, were to be kept until 2021.
        site.ExtraClients.Add(("gamma", "2015-01-31"));
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = site.StorePath }, new HandClock(new DateTimeOffset(2014, 6, 1, 9, 0, 0, TimeSpan.Zero)), CancellationToken.None))
        {
            for (var i = 0; i < 6; i++)
            {
                await store.AppendAsync(RecordTypes.Access, i % 2 == 0 ? "gamma" : "alpha", Encoding.UTF8.GetBytes($$"""{"n":{{i}}}"""), CancellationToken.None);
            }
        }

        site.Maintenance = o =>
        {
            o.StartDelay = TimeSpan.Zero;
            o.PurgeInterval = TimeSpan.FromHours(1);
            o.VerifyInterval = TimeSpan.FromHours(1);
        };
        await site.StartAsync();
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Purge }).Count == 1), "the scheduled purge");
        await EvidenceSite.WaitUntilAsync(async () => (await site.HealthAsync()).Sources.GetValueOrDefault(StoreMaintenanceService.ChainSource), "the background verification");
        await site.StopAsync();

        var records = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Access });
        Assert.All(records.Where(r => r.Clients == "gamma"), r => Assert.Null(r.Payload));
        Assert.All(records.Where(r => r.Clients == "alpha"), r => Assert.NotNull(r.Payload));
        var report = StoreVerifier.Verify(site.StorePath, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task BackgroundVerification_ChainTamperedBehindTheControllersBack_RaisesLogIntegrityFailure()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-verify-").FullName);
        site.Maintenance = o =>
        {
            o.StartDelay = TimeSpan.Zero;
            o.VerifyInterval = TimeSpan.FromMilliseconds(300);
        };
        await site.StartAsync();
        var appender = site.Service<IRecordAppender>();
        var target = await appender.AppendAsync(RecordTypes.Access, "alpha", Encoding.UTF8.GetBytes("""{"path":"/orders/1"}"""), CancellationToken.None);
        await EvidenceSite.WaitUntilAsync(async () => (await site.HealthAsync()).Sources.GetValueOrDefault(StoreMaintenanceService.ChainSource), "a verification that holds");

        using (var connection = new SqliteConnection($"Data Source={site.StorePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE records SET payload = CAST('{{\"path\":\"/orders/2\"}}' AS BLOB) WHERE idx = {target}";
            command.ExecuteNonQuery();
        }

        await EvidenceSite.WaitUntilAsync(
            async () => System.Text.RegularExpressions.Regex.IsMatch(await site.MetricsAsync(), @"segctl_findings_total\{rule=""log-integrity-failure"",severity=""critical"",client=""none""\} [1-9]"),
            "log-integrity-failure on /metrics");
        var (status, sources) = await site.HealthAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(sources[StoreMaintenanceService.ChainSource]);
        Assert.Contains(site.Service<SegmentController.Findings.FindingPipeline>().Recent, f => f.Rule == "log-integrity-failure" && f.Summary.Contains($"first bad record {target}", StringComparison.Ordinal));
    }
}
