using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Audits;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Findings;
using SegmentController.Metrics;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Audits;

/// <summary>
/// An audit that finds a client out of compliance while the evidence store is full (a real, tiny tmpfs): the report is
/// not recorded and does not count, but the failing client is cut off all the same — a trip never waits on the store.
/// </summary>
public sealed class AuditStoreFullTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-audit-full-").FullName;
    private readonly HandClock _time = new(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AuditFailsAClientWhileTheStoreIsFull_NotRecordedButThatClientAloneIsSuspended()
    {
        var disk = FullDisk.Mount(_dir);
        var mount = disk.Path;
        try
        {
            await using var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = Path.Combine(mount, "segctl.db") }, _time, CancellationToken.None);
            var policy = TestPolicies.Site() with { Restore = new RestoreSettings { Approvers = 1 }, Sha256 = "5eed" };
            var provider = new PolicyProvider("inline", policy);
            var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
            using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider, [], [], [], [], _time);
            var runner = new AuditRunner([new AlphaOutOfCompliance()], store, new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance), _time);
            using var service = new AuditService(runner, provider, engine, store, metrics, _time, NullLogger<AuditService>.Instance);
            await FullDisk.FillAsync(store);

            await Assert.ThrowsAsync<StoreUnavailableException>(() => service.RunAsync(null, AuditService.OnDemandTrigger, new Progress<string>(), CancellationToken.None));

            Assert.True(engine.IsSuspended("alpha"));
            Assert.False(engine.IsSuspended("bravo"));
            var suspension = engine.Current.Suspensions.Single().Value;
            Assert.Equal(SuspensionTrigger.Audit, suspension.Trigger);
            Assert.Contains("not recorded", suspension.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain("bravo", suspension.Reason, StringComparison.Ordinal);

            // Not recorded, it does not count: bravo's pass is not on record for a restore.
            Assert.False(engine.Current.LastPassingAudit.ContainsKey("bravo"));
            Assert.Empty(service.Recent);
        }
        finally
        {
            disk.Dispose();
        }
    }

    /// <summary>alpha's port is in bravo's VLAN; bravo is clean.</summary>
    private sealed class AlphaOutOfCompliance : IAuditEvidenceSource
    {
        public string Name => "test";

        public Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<AuditCheck>>(
            [
                new AuditCheck(Name, "switch sw1 port 7 port-vlan-mismatch", ["alpha"], AuditOutcome.Fail, "alpha's port 7 is in bravo's VLAN 120"),
                new AuditCheck(Name, "switch sw1 isolation", ["bravo"], AuditOutcome.Pass, "fine"),
            ]);
    }
}
