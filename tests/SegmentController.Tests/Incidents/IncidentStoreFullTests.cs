using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Incidents;
using SegmentController.Metrics;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Infrastructure;
using SegmentController.Tests.Evidence;

namespace SegmentController.Tests.Incidents;

/// <summary>
/// The incident service of <c>segctl run</c> with its store on a real, tiny tmpfs that is full (a full disk) when a
/// finding comes: the incident is opened once the store takes records again, without waiting for another finding.
/// </summary>
public sealed class IncidentStoreFullTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-incident-full-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task StoreFullWhenAFindingIsQueued_IncidentOpenedOnceThereIsRoom_ItsClockFromTheObservation()
    {
        var disk = FullDisk.Mount(_dir);
        var mount = disk.Path;
        try
        {
            var path = Path.Combine(mount, "segctl.db");
            await using var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = path }, TimeProvider.System, CancellationToken.None);
            var policy = TestPolicies.Site();
            using var http = new HttpClient();
            using var manager = new IncidentManager(store, new SqliteAccessRecordCounter(path), new WebhookNotifier(http, TimeProvider.System, new WebhookNotifierOptions()), () => policy, TimeProvider.System);
            var queue = new IncidentQueue(NullLogger<IncidentQueue>.Instance);
            using var notices = new IncidentNotices(manager, NullLogger<IncidentNotices>.Instance);
            var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
            using var service = new IncidentService(manager, queue, notices, store, new PolicyProvider("inline", policy), metrics, TimeProvider.System, NullLogger<IncidentService>.Instance)
            {
                UnrecordedRetry = TimeSpan.FromMilliseconds(100),
            };
            await service.StartAsync(CancellationToken.None);
            try
            {
                await FullDisk.FillAsync(store);
                var finding = Finding.Create(RuleIds.CrossClientFlow, ["alpha", "bravo"], "alpha talks to bravo", new Dictionary<string, object?>(StringComparer.Ordinal), DateTimeOffset.UtcNow.AddSeconds(-30));
                await queue.OnFindingsAsync([finding], CancellationToken.None);
                await EvidenceSite.WaitUntilAsync(() => Task.FromResult(manager.UnrecordedFindings == 1), "the finding waiting for its incident");
                Assert.Empty(manager.Incidents);

                disk.Grow("16m");
                await EvidenceSite.WaitUntilAsync(() => Task.FromResult(manager.Incidents.Count == 1), "the incident, once the store has room");

                var incident = Assert.Single(manager.Incidents);
                Assert.Equal(0, manager.UnrecordedFindings);
                Assert.Equal(["alpha", "bravo"], incident.Clients);
                Assert.Equal(finding.ObservedAt, incident.DetectedAt);
                Assert.All(incident.Notices, n => Assert.Equal(finding.ObservedAt.AddHours(8), n.DueAt));
                Assert.Contains(
                    StoreFile.Read(path, new RecordQuery { Type = RecordTypes.IncidentEvent }),
                    r => IncidentJson.Read(r.Payload!.Value).Id == incident.Id);
            }
            finally
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            disk.Dispose();
        }
    }
}
