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

namespace SegmentController.Tests.Audits;

/// <summary>The audit schedule (<c>audits.interval</c>) against a clock the test moves, with a real store and engine.</summary>
public sealed class AuditServiceScheduleTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-audit-schedule-").FullName;
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
    public async Task IntervalElapses_ScheduledAuditRunsRecordsPassAndWaitsForNextInterval()
    {
        var policy = TestPolicies.Site() with { Audits = new AuditSettings { Interval = TimeSpan.FromHours(1) }, Sha256 = "5eed" };
        var provider = new PolicyProvider("inline", policy);
        await _store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(policy, PolicyLoadRecord.Start), CancellationToken.None);
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider, [], [], [], [], _time);
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var runner = new AuditRunner([new PolicyHashEvidence(_store), new StoreVerificationEvidence(_store)], _store, pipeline, _time);
        using var service = new AuditService(runner, provider, engine, _store, metrics, _time, NullLogger<AuditService>.Instance)
        {
            Tick = TimeSpan.FromMilliseconds(20),
        };

        await service.StartAsync(CancellationToken.None);
        try
        {
            // Not due yet: the first interval counts from start (no audit on record).
            await Task.Delay(300);
            Assert.Empty(service.Recent);

            _time.Advance(TimeSpan.FromMinutes(61));
            await WaitUntilAsync(() => service.Recent.Count == 1);
            var first = service.Recent[0];
            Assert.Equal(AuditService.ScheduledTrigger, first.Trigger);
            Assert.All(first.Results, r => Assert.Equal(AuditOutcome.Pass, r.Outcome));
            Assert.True(engine.Current.LastPassingAudit.ContainsKey("alpha"));
            Assert.Equal(1, metrics.AuditLastResult.WithLabels("bravo").Value);

            _time.Advance(TimeSpan.FromMinutes(30));
            await Task.Delay(300);
            Assert.Single(service.Recent);

            _time.Advance(TimeSpan.FromMinutes(31));
            await WaitUntilAsync(() => service.Recent.Count == 2);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        Assert.Equal(2, StoreFile.Read(Path.Combine(_dir, "segctl.db"), new Core.Evidence.RecordQuery { Type = Core.Evidence.RecordTypes.AuditResult }).Count);

        // A restarted controller reads its audits back from the chain and counts the interval from the last.
        _time.Advance(TimeSpan.FromMinutes(10));
        using var restarted = new AuditService(runner, provider, engine, _store, metrics, _time, NullLogger<AuditService>.Instance)
        {
            Tick = TimeSpan.FromMilliseconds(20),
        };
        await restarted.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => restarted.Recent.Count == 2);
            Assert.Equal(AuditOutcome.Pass, restarted.LastFor("alpha")?.Outcome);
            await Task.Delay(300);
            Assert.Equal(2, restarted.Recent.Count);

            _time.Advance(TimeSpan.FromMinutes(51));
            await WaitUntilAsync(() => restarted.Recent.Count == 3);
            Assert.Equal(AuditService.ScheduledTrigger, restarted.Recent[0].Trigger);
        }
        finally
        {
            await restarted.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task NoAuditOnRecord_ClientsReadNoConclusiveAuditAtTimeZero_AndFollowAReload()
    {
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, PolicyWith("alpha", "bravo"));
        var provider = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider!, [], [], [], [], _time);
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var runner = new AuditRunner([new PolicyHashEvidence(_store), new StoreVerificationEvidence(_store)], _store, pipeline, _time);
        using var service = new AuditService(runner, provider!, engine, _store, metrics, _time, NullLogger<AuditService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            // Never audited is no conclusive audit, at time 0: as stale as can be, not absent.
            await WaitUntilAsync(() => Labels(metrics.AuditLastResult).SequenceEqual(["alpha", "bravo"]));
            Assert.Equal(-1, metrics.AuditLastResult.WithLabels("alpha").Value);
            Assert.Equal(0, metrics.AuditLastTimestamp.WithLabels("bravo").Value);

            // A client added by a reload is published at once; one taken out has its series removed.
            await File.WriteAllTextAsync(path, PolicyWith("alpha", "charlie"));
            Assert.Empty(provider!.Reload());
            Assert.Equal(["alpha", "charlie"], Labels(metrics.AuditLastResult));
            Assert.Equal(["alpha", "charlie"], Labels(metrics.AuditLastTimestamp));
            Assert.Equal(-1, metrics.AuditLastResult.WithLabels("charlie").Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static string[] Labels(Prometheus.Gauge gauge) => [.. gauge.GetAllLabelValues().Select(v => v[0]).Order(StringComparer.Ordinal)];

    private static string PolicyWith(string first, string second) => $$"""
        site: {id: s, name: S}
        clients:
          - {id: {{first}}, name: First, contract_end: 2030-01-01, segments: [{name: s, vlans: [101], subnets: [10.1.0.0/24]}]}
          - {id: {{second}}, name: Second, contract_end: 2030-01-01, segments: [{name: s, vlans: [102], subnets: [10.2.0.0/24]}]}
        """;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
