using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Audits;
using SegmentController.Core.Audits;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Findings;
using SegmentController.Metrics;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Audits;

/// <summary>
/// An audit's pass speaks for the time its evidence was gathered, not for the time it was recorded: one that
/// began before a trip (or before a failed audit) does not count as "a passing audit since" it, however
/// late it finishes.
/// </summary>
public sealed class AuditEvidenceTimeTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-audit-time-").FullName;
    private readonly HandClock _time = new(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
    private SqliteEvidenceStore _store = null!;

    public async Task InitializeAsync() =>
        _store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = Path.Combine(_dir, "segctl.db") }, _time, CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task AuditStartedBeforeATrip_PassesAfterIt_DoesNotCountForTheRestore()
    {
        var policy = TestPolicies.Site() with { Restore = new RestoreSettings { Approvers = 1, RequirePassingAudit = true }, Sha256 = "5eed" };
        var provider = new PolicyProvider("inline", policy);
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider, [], [], [], [], _time);
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);

        // The evidence is gathered; a minute later, while the audit is still running, alpha is suspended.
        var source = new TripWhileCollecting(engine, _time, policy.Clients.Select(c => c.Id).ToArray());
        var runner = new AuditRunner([source], _store, pipeline, _time);
        using var service = new AuditService(runner, provider, engine, _store, metrics, _time, NullLogger<AuditService>.Instance);

        var report = await service.RunAsync(null, "on-demand", new Progress<string>(), CancellationToken.None);

        Assert.All(report.Results, r => Assert.Equal(AuditOutcome.Pass, r.Outcome));
        Assert.True(engine.IsSuspended("alpha"));
        var outcome = await engine.RequestRestoreAsync("alpha", "alice", "the audit passed", CancellationToken.None);
        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.True(engine.IsSuspended("alpha"));

        // An audit that starts after the trip counts.
        _time.Advance(TimeSpan.FromMinutes(1));
        source.TripNext = false;
        await service.RunAsync("alpha", "on-demand", new Progress<string>(), CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, (await engine.RequestRestoreAsync("alpha", "alice", "audited since", CancellationToken.None)).Status);
    }

    [Fact]
    public async Task ExternalFailureWhileAnAuditRuns_ThatAuditsPassDoesNotLiftIt()
    {
        var policy = TestPolicies.Site() with { Restore = new RestoreSettings { Approvers = 1 }, Sha256 = "5eed" };
        var provider = new PolicyProvider("inline", policy);
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider, [], [], [], [], _time);
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var source = new TripWhileCollecting(engine, _time, policy.Clients.Select(c => c.Id).ToArray()) { Trigger = SuspensionTrigger.Audit };
        var runner = new AuditRunner([source], _store, pipeline, _time);
        using var service = new AuditService(runner, provider, engine, _store, metrics, _time, NullLogger<AuditService>.Instance);

        await service.RunAsync(null, "on-demand", new Progress<string>(), CancellationToken.None);

        Assert.True(engine.IsSuspended("alpha"));
        Assert.Equal(RestoreStatus.Refused, (await engine.RequestRestoreAsync("alpha", "alice", "the audit passed", CancellationToken.None)).Status);
    }

    /// <summary>Passes every client, and trips alpha a minute after the evidence was taken (once).</summary>
    private sealed class TripWhileCollecting(SuspensionEngine engine, HandClock time, IReadOnlyList<string> clients) : IAuditEvidenceSource
    {
        public bool TripNext { get; set; } = true;

        public SuspensionTrigger Trigger { get; init; } = SuspensionTrigger.Finding;

        public string Name => "test";

        public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
        {
            if (TripNext)
            {
                TripNext = false;
                time.Advance(TimeSpan.FromMinutes(1));
                await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = Trigger, Actor = "capture", Reason = "cross-client flow" }, cancellationToken);
                time.Advance(TimeSpan.FromMinutes(1));
            }

            return [new AuditCheck(Name, "everything", [.. clients], AuditOutcome.Pass, "fine")];
        }
    }
}
