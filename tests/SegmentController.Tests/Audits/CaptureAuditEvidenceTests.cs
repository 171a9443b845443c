using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Audits;
using SegmentController.Capture;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Findings;
using SegmentController.Health;
using SegmentController.Metrics;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Audits;

/// <summary>Capture evidence for audits: findings in the window from a real store, loss since the previous audit, capture health.</summary>
public sealed class CaptureAuditEvidenceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-audit-capture-").FullName;
    private readonly HandClock _time = new(Start);
    private readonly ControllerMetrics _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private readonly SitePolicy _policy = TestPolicies.Site() with
    {
        Controller = new ControllerSettings
        {
            Capture = new CaptureSettings { Interfaces = [new CaptureInterface { Name = "span0" }], LossThreshold = 0.01 },
        },
    };

    private SqliteEvidenceStore _store = null!;
    private VerificationHealth _health = null!;

    public async Task InitializeAsync()
    {
        _store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = Path.Combine(_dir, "segctl.db") }, _time, CancellationToken.None);
        _health = new VerificationHealth(_metrics, _time, NullLogger<VerificationHealth>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task CriticalFindingInWindow_FailsItsClient_OlderAndMediumFindingsDoNot()
    {
        _health.Report(CaptureService.HealthSource, healthy: true, "1 interface(s) capturing");
        await AppendAsync(RuleIds.VlanHopping, ["bravo"]);
        _time.Advance(TimeSpan.FromHours(1));
        var windowStart = _time.GetUtcNow();
        await AppendAsync(RuleIds.CrossClientFlow, ["alpha"]);
        await AppendAsync(RuleIds.CrossClientFlow, ["alpha"]);
        await AppendAsync(RuleIds.UnknownVlan, ["bravo"]);
        await AppendAsync(RuleIds.PortVlanMismatch, ["bravo"]);
        _time.Advance(TimeSpan.FromMinutes(5));

        var checks = await Evidence().CollectAsync(Scope(windowStart), new Progress<string>(), CancellationToken.None);
        var results = AuditReport.Judge(["alpha", "bravo"], checks, [CaptureAuditEvidence.SourceName]);

        var failing = Assert.Single(checks, c => c.Outcome == AuditOutcome.Fail);
        Assert.Equal("capture cross-client-flow", failing.Name);
        Assert.Equal(["alpha"], failing.Clients);
        Assert.StartsWith("2 finding(s) in the window", failing.Detail, StringComparison.Ordinal);
        Assert.Equal(AuditOutcome.Fail, results.Single(r => r.Client == "alpha").Outcome);
        Assert.Equal(AuditOutcome.Pass, results.Single(r => r.Client == "bravo").Outcome);
    }

    [Fact]
    public async Task UpdatesInWindow_NotCountedAsFindingsButAViolationGoingOnStillFails()
    {
        _health.Report(CaptureService.HealthSource, healthy: true, "1 interface(s) capturing");
        await AppendAsync(RuleIds.CrossClientFlow, ["alpha"]);
        await AppendAsync(RuleIds.WeakTls, ["bravo"]);
        _time.Advance(TimeSpan.FromHours(1));
        var windowStart = _time.GetUtcNow();
        await AppendAsync(RuleIds.CrossClientFlow, ["alpha"], update: true);
        await AppendAsync(RuleIds.CrossClientFlow, ["alpha"], update: true);
        await AppendAsync(RuleIds.WeakTls, ["bravo"]);
        await AppendAsync(RuleIds.WeakTls, ["bravo"], update: true);
        _time.Advance(TimeSpan.FromMinutes(5));

        var checks = await Evidence().CollectAsync(Scope(windowStart), new Progress<string>(), CancellationToken.None);

        var cross = Assert.Single(checks, c => c.Name == "capture cross-client-flow");
        Assert.Equal(AuditOutcome.Fail, cross.Outcome);
        Assert.StartsWith("reported before the window and still seen in it", cross.Detail, StringComparison.Ordinal);
        var weak = Assert.Single(checks, c => c.Name == "capture weak-tls");
        Assert.StartsWith("1 finding(s) in the window", weak.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LossAboveThreshold_Indeterminate_ThenMeasuredFromThePreviousAudit()
    {
        _health.Report(CaptureService.HealthSource, healthy: true, "1 interface(s) capturing");
        var evidence = Evidence();
        _metrics.CapturePacketsTotal.WithLabels("span0").Inc(1000);
        _metrics.CaptureDroppedTotal.WithLabels("span0").Inc(50);

        var first = await evidence.CollectAsync(Scope(Start), new Progress<string>(), CancellationToken.None);
        var loss = Assert.Single(first, c => c.Name == "capture loss");
        Assert.Equal(AuditOutcome.Indeterminate, loss.Outcome);
        Assert.Contains("50 of 1050 frames lost", loss.Detail, StringComparison.Ordinal);

        // The next audit counts only what happened since: 2000 frames, 5 lost, under 1 %.
        _metrics.CapturePacketsTotal.WithLabels("span0").Inc(2000);
        _metrics.CaptureDroppedTotal.WithLabels("span0").Inc(5);
        var second = await evidence.CollectAsync(Scope(Start), new Progress<string>(), CancellationToken.None);
        Assert.Equal(AuditOutcome.Pass, Assert.Single(second, c => c.Name == "capture loss").Outcome);
    }

    [Fact]
    public async Task CaptureNotVerifying_Indeterminate_NeverPass()
    {
        _health.Report(CaptureService.HealthSource, healthy: false, "span0: not capturing");

        var checks = await Evidence().CollectAsync(Scope(Start), new Progress<string>(), CancellationToken.None);
        var results = AuditReport.Judge(["alpha", "bravo"], checks, [CaptureAuditEvidence.SourceName]);

        var running = Assert.Single(checks, c => c.Name == "capture running");
        Assert.Equal(AuditOutcome.Indeterminate, running.Outcome);
        Assert.Contains("span0: not capturing", running.Detail, StringComparison.Ordinal);
        Assert.All(results, r => Assert.Equal(AuditOutcome.Indeterminate, r.Outcome));
    }

    [Fact]
    public async Task FindingsLostInsideTheWindow_Indeterminate_LostBeforeIt_NotAsked()
    {
        _health.ReportEvidenceLost(CaptureService.HealthSource, "findings could not be recorded");
        var lostAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMinutes(1));
        _health.Report(CaptureService.HealthSource, healthy: true, "1 interface(s) capturing");
        _time.Advance(TimeSpan.FromMinutes(5));

        // Capture runs again, but what it found at lostAt is not in the store the audit reads.
        var checks = await Evidence().CollectAsync(Scope(lostAt), new Progress<string>(), CancellationToken.None);
        var results = AuditReport.Judge(["alpha", "bravo"], checks, [CaptureAuditEvidence.SourceName]);
        Assert.Equal(AuditOutcome.Pass, Assert.Single(checks, c => c.Name == "capture running").Outcome);
        var recorded = Assert.Single(checks, c => c.Name == "capture findings recorded");
        Assert.Equal(AuditOutcome.Indeterminate, recorded.Outcome);
        Assert.Contains("inside the audit window", recorded.Detail, StringComparison.Ordinal);
        Assert.All(results, r => Assert.Equal(AuditOutcome.Indeterminate, r.Outcome));

        // The next audit's window starts after the loss: nothing missing from it.
        var later = await Evidence().CollectAsync(Scope(lostAt + TimeSpan.FromSeconds(1)), new Progress<string>(), CancellationToken.None);
        Assert.DoesNotContain(later, c => c.Name == "capture findings recorded");
        Assert.All(AuditReport.Judge(["alpha", "bravo"], later, [CaptureAuditEvidence.SourceName]), r => Assert.Equal(AuditOutcome.Pass, r.Outcome));
    }

    [Fact]
    public async Task MoreGroupsThanReported_AClientsCriticalFindingBeyondThemStillFailsIt()
    {
        _health.Report(CaptureService.HealthSource, healthy: true, "1 interface(s) capturing");
        var windowStart = _time.GetUtcNow();

        // Bravo's flows to many other addresses fill the groups reported one by one; alpha's leak comes after them.
        for (var i = 0; i < 300; i++)
        {
            await AppendAsync(RuleIds.CrossClientFlow, ["bravo", $"former{i:D3}"]);
        }

        await AppendAsync(RuleIds.VlanHopping, ["alpha"]);
        _time.Advance(TimeSpan.FromMinutes(5));

        var checks = await Evidence().CollectAsync(Scope(windowStart), new Progress<string>(), CancellationToken.None);
        var results = AuditReport.Judge(["alpha", "bravo"], checks, [CaptureAuditEvidence.SourceName]);

        Assert.Equal(AuditOutcome.Fail, results.Single(r => r.Client == "bravo").Outcome);
        Assert.Equal(AuditOutcome.Fail, results.Single(r => r.Client == "alpha").Outcome);
        Assert.Contains(checks, c => c.Outcome == AuditOutcome.Fail && c.Clients.Contains("alpha") && c.Name.Contains(RuleIds.VlanHopping, StringComparison.Ordinal));
        Assert.True(checks.Count <= 260, $"{checks.Count} checks");
    }

    [Fact]
    public async Task FindingRecordedWhileASiteWideAuditRuns_FallsInTheNextAuditsWindow()
    {
        _health.Report(CaptureService.HealthSource, healthy: true, "1 interface(s) capturing");
        var provider = new PolicyProvider("inline", _policy with { Sha256 = "5eed" });
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider, [], [], [], [], _time);
        var pipeline = new FindingPipeline(_metrics, [], NullLogger<FindingPipeline>.Instance);
        var slow = new SlowSource(_time, () => AppendAsync(RuleIds.CrossClientFlow, ["alpha"]));
        var runner = new AuditRunner([Evidence(), slow], _store, pipeline, _time);
        using var service = new AuditService(runner, provider, engine, _store, _metrics, _time, NullLogger<AuditService>.Instance);

        // The leak is seen while the first audit still gathers evidence, after its capture window closed.
        var first = await service.RunAsync(null, "on-demand", new Progress<string>(), CancellationToken.None);
        Assert.Equal(AuditOutcome.Pass, first.Results.Single(r => r.Client == "alpha").Outcome);

        _time.Advance(TimeSpan.FromMinutes(10));
        var second = await service.RunAsync(null, "on-demand", new Progress<string>(), CancellationToken.None);

        Assert.Equal(AuditOutcome.Fail, second.Results.Single(r => r.Client == "alpha").Outcome);
        Assert.Equal(AuditOutcome.Pass, second.Results.Single(r => r.Client == "bravo").Outcome);
    }

    /// <summary>Takes two minutes to gather its (clean) evidence; once, something happens at the first.</summary>
    private sealed class SlowSource(HandClock time, Func<Task> meanwhile) : IAuditEvidenceSource
    {
        private Func<Task>? _meanwhile = meanwhile;

        public string Name => "slow";

        public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            if (Interlocked.Exchange(ref _meanwhile, null) is { } happen)
            {
                await happen();
            }

            time.Advance(TimeSpan.FromMinutes(1));
            return [new AuditCheck(Name, "slow", [], AuditOutcome.Pass, "fine")];
        }
    }

    private CaptureAuditEvidence Evidence() => new(_store, _health, _metrics);

    private AuditScope Scope(DateTimeOffset windowStart) => new(_policy, ["alpha", "bravo"], windowStart, _time.GetUtcNow());

    /// <summary>A finding as the controller records it (FindingJson in a finding record).</summary>
    private async Task AppendAsync(string rule, string[] clients, bool update = false)
    {
        var finding = Finding.Create(rule, clients, $"{rule} seen", new Dictionary<string, object?>(StringComparer.Ordinal), _time.GetUtcNow()) with { Update = update };
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            FindingJson.Write(writer, finding);
        }

        await _store.AppendAsync(RecordTypes.Finding, ClientKey.Of(clients), buffer.WrittenMemory, CancellationToken.None);
    }
}
