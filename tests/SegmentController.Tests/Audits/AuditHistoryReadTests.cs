using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Audits;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Findings;
using SegmentController.Metrics;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Audits;

/// <summary>
/// A start reads the audits on record newest first and stops once it has the recent list, every client's last
/// result and the last site-wide audit: the answers are those of reading every record, without reading them all.
/// </summary>
public sealed class AuditHistoryReadTests : IAsyncLifetime
{
    private const int RecentCapacity = 100;

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-audit-history-").FullName;
    private readonly HandClock _time = new(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
    private SqliteEvidenceStore _store = null!;
    private int _reports;

    public async Task InitializeAsync() =>
        _store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = Path.Combine(_dir, "segctl.db"), BatchWindow = TimeSpan.Zero }, _time, CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task HistoryOfSeveralClients_PartialFullAndCorruptRecords_StartShowsWhatReadingEveryRecordShows()
    {
        var provider = Policy("alpha", "bravo", "charlie");
        var ids = await WriteMixedHistoryAsync();

        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = Engine(provider);
        using var service = Service(provider, engine, _store, metrics);
        await service.StartAsync(CancellationToken.None);
        try
        {
            var expected = ReadEveryRecord(provider.Current);

            // The recent list, newest first, exactly as reading every record gives it.
            Assert.Equal(expected.Recent.Select(r => r.Id), service.Recent.Select(r => r.Id));
            Assert.Equal(RecentCapacity, service.Recent.Count);

            // Each client's last result: the one that finished last (bravo's was recorded before an audit
            // that finished earlier; alpha's two latest finished at once, the later record counting).
            Assert.Equal(ids.BravoLatest, service.LastFor("bravo")?.AuditId);
            Assert.Equal(ids.AlphaLatest, service.LastFor("alpha")?.AuditId);
            Assert.Equal(ids.CharlieLatest, service.LastFor("charlie")?.AuditId);
            foreach (var client in new[] { "alpha", "bravo", "charlie" })
            {
                var last = expected.Last[client];
                Assert.Equal(last, service.LastFor(client));
                Assert.Equal(last.Outcome switch { AuditOutcome.Pass => 1, AuditOutcome.Fail => 0, _ => -1 }, metrics.AuditLastResult.WithLabels(client).Value);
                Assert.Equal(last.FinishedAt.ToUnixTimeMilliseconds() / 1000.0, metrics.AuditLastTimestamp.WithLabels(client).Value);
            }

            // The next site-wide audit's window starts where the last one's on record (long before the recent ones) ended: at its start.
            Assert.Equal(ids.LastFullStarted, expected.LastFull);
            var progress = new Collecting();
            await service.RunAsync(null, AuditService.OnDemandTrigger, progress, CancellationToken.None);
            Assert.Contains(progress.Lines, l => l.Contains(string.Create(CultureInfo.InvariantCulture, $"evidence window from {ids.LastFullStarted:yyyy-MM-ddTHH:mm:ssZ}"), StringComparison.Ordinal));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task ThousandsOfOlderAudits_StartReadsOnlyTheNewestItNeeds()
    {
        var provider = Policy("alpha", "bravo", "charlie");
        var older = 5000;
        for (var written = 0; written < older; written += 500)
        {
            _time.Advance(TimeSpan.FromHours(1));
            await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Append(Report(["alpha", "bravo", "charlie"], AuditOutcome.Fail))));
        }

        // The 101st and 100th newest: bravo's pass finished after the failure recorded after it.
        _time.Advance(TimeSpan.FromHours(1));
        var at = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMinutes(5));
        var bravoPass = Report(["bravo"], AuditOutcome.Pass);
        await Append(bravoPass);
        var bravoFail = Report(["bravo"], AuditOutcome.Fail) with { StartedAt = at, FinishedAt = at.AddMinutes(2) };
        await Append(bravoFail);
        var recent = new List<string> { bravoPass.Id, bravoFail.Id };
        for (var i = 0; i < RecentCapacity - 1; i++)
        {
            _time.Advance(TimeSpan.FromHours(1));
            // Site-wide by their count: delta, a client the policy no longer has, makes up bravo's place.
            var report = Report(["alpha", "charlie", "delta"], AuditOutcome.Pass);
            await Append(report);
            recent.Add(report.Id);
        }

        var counting = new CountingStore(_store);
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = Engine(provider);
        using var service = Service(provider, engine, counting, metrics);
        await service.StartAsync(CancellationToken.None);
        try
        {
            recent.Reverse();
            Assert.Equal(recent.Take(RecentCapacity), service.Recent.Select(r => r.Id));
            Assert.Equal(recent[0], service.LastFor("charlie")?.AuditId);
            Assert.Equal(1, metrics.AuditLastResult.WithLabels("alpha").Value);
            Assert.Equal(bravoPass.Id, service.LastFor("bravo")?.AuditId);
            Assert.Equal(1, metrics.AuditLastResult.WithLabels("bravo").Value);

            // The recent list and the one record more that holds bravo's last result, of over 5000.
            Assert.True(counting.AuditResultsRead <= RecentCapacity + 1, $"{counting.AuditResultsRead} audit results read for {RecentCapacity} recent ones");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task ReloadBringsBackAClientOnlyOlderRecordsSettle_ItsLastAuditIsPublishedAsReadingEveryRecordGivesIt()
    {
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, PolicyText("alpha", "bravo", "delta"));
        var provider = PolicyProvider.TryOpen(path, out var errors)!;
        Assert.Empty(errors);

        // delta is audited long ago, then taken out of the policy; alpha and bravo go on being audited.
        _time.Advance(TimeSpan.FromHours(1));
        var deltaLast = Report(["alpha", "bravo", "delta"], AuditOutcome.Fail);
        await Append(deltaLast);
        for (var i = 0; i < RecentCapacity + 50; i++)
        {
            _time.Advance(TimeSpan.FromHours(1));
            await Append(Report(["alpha", "bravo"], AuditOutcome.Pass));
        }

        await File.WriteAllTextAsync(path, PolicyText("alpha", "bravo"));
        Assert.Empty(provider.Reload());
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var engine = Engine(provider);
        var counting = new CountingStore(_store);
        using var service = Service(provider, engine, counting, metrics);
        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(counting.AuditResultsRead <= RecentCapacity + 1, $"{counting.AuditResultsRead} audit results read at the start");

            await File.WriteAllTextAsync(path, PolicyText("alpha", "bravo", "delta"));
            Assert.Empty(provider.Reload());
            await WaitUntilAsync(() => service.LastFor("delta") is not null);
            Assert.Equal(ReadEveryRecord(provider.Current).Last["delta"], service.LastFor("delta"));
            Assert.Equal(deltaLast.Id, service.LastFor("delta")!.AuditId);
            Assert.Equal(0, metrics.AuditLastResult.WithLabels("delta").Value);
            Assert.Equal(deltaLast.FinishedAt.ToUnixTimeMilliseconds() / 1000.0, metrics.AuditLastTimestamp.WithLabels("delta").Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Site-wide audits, then a long run of audits of one or two clients, corrupt records among them, an
    /// audit recorded after one that finished later, and two that finished at the same moment.
    /// </summary>
    private async Task<(string AlphaLatest, string BravoLatest, string CharlieLatest, DateTimeOffset LastFullStarted)> WriteMixedHistoryAsync()
    {
        var outcomes = new[] { AuditOutcome.Pass, AuditOutcome.Fail, AuditOutcome.Indeterminate };
        DateTimeOffset lastFull = default;
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromHours(1));
            // Some with delta, a client the policy no longer has.
            var report = Report(i % 4 == 0 ? ["alpha", "bravo", "charlie", "delta"] : ["alpha", "bravo", "charlie"], outcomes[i % 3]);
            await Append(report);
            lastFull = report.StartedAt;
        }

        _time.Advance(TimeSpan.FromHours(1));
        var charlie = Report(["charlie"], AuditOutcome.Fail, external: true);
        await Append(charlie);

        for (var i = 0; i < 150; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(30));
            await Append(Report(i % 3 == 0 ? ["alpha", "bravo"] : [i % 2 == 0 ? "alpha" : "bravo"], outcomes[i % 3]));
            if (i % 40 == 7)
            {
                await _store.AppendAsync(RecordTypes.AuditResult, "alpha", "{\"id\": \"AUD-broken\", \"results\": "u8.ToArray(), CancellationToken.None);
            }
        }

        // bravo: an audit finishing at t+5 min is recorded before one that finished at t+2 min.
        _time.Advance(TimeSpan.FromHours(1));
        var at = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMinutes(5));
        var bravoLater = Report(["bravo"], AuditOutcome.Pass) with { FinishedAt = at.AddMinutes(5) };
        await Append(bravoLater);
        await Append(Report(["bravo"], AuditOutcome.Fail) with { StartedAt = at, FinishedAt = at.AddMinutes(2) });

        // alpha: two audits finishing at the same moment, the later record counting.
        _time.Advance(TimeSpan.FromMinutes(10));
        var same = _time.GetUtcNow();
        await Append(Report(["alpha"], AuditOutcome.Pass) with { FinishedAt = same });
        var alphaLatest = Report(["alpha"], AuditOutcome.Fail) with { FinishedAt = same };
        await Append(alphaLatest);
        await _store.AppendAsync(RecordTypes.AuditResult, "bravo", "not json"u8.ToArray(), CancellationToken.None);
        return (alphaLatest.Id, bravoLater.Id, charlie.Id, lastFull);
    }

    /// <summary>What reading every audit result in chain order gives: the recent list, each client's last result, the last full audit.</summary>
    private (List<AuditReport> Recent, Dictionary<string, ClientAuditStatus> Last, DateTimeOffset? LastFull) ReadEveryRecord(SitePolicy policy)
    {
        var loaded = new List<AuditReport>();
        var last = new Dictionary<string, ClientAuditStatus>(StringComparer.Ordinal);
        DateTimeOffset? lastFull = null;
        foreach (var record in StoreFile.Read(Path.Combine(_dir, "segctl.db"), new RecordQuery { Type = RecordTypes.AuditResult }))
        {
            AuditReport report;
            try
            {
                report = AuditReportJson.Read(record.Payload!.Value, record.Index);
            }
            catch (FormatException)
            {
                continue;
            }

            loaded.Add(report);
            foreach (var result in report.Results)
            {
                if (!last.TryGetValue(result.Client, out var previous) || previous.FinishedAt <= report.FinishedAt)
                {
                    last[result.Client] = new ClientAuditStatus(report.Id, result.Outcome, report.FinishedAt);
                }
            }

            if (report.Results.Count >= policy.Clients.Count)
            {
                lastFull = report.StartedAt;
            }
        }

        loaded.Reverse();
        return ([.. loaded.Take(RecentCapacity)], last, lastFull);
    }

    private AuditReport Report(string[] clients, AuditOutcome outcome, bool external = false)
    {
        var now = _time.GetUtcNow();
        var number = Interlocked.Increment(ref _reports);
        AuditCheck[] checks = [new AuditCheck("external", "check", clients, outcome, "as recorded")];
        return new AuditReport
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"AUD-{now:yyyyMMdd-HHmmss}-{number}"),
            Trigger = external ? AuditService.ExternalTrigger : AuditService.ScheduledTrigger,
            StartedAt = now.AddMinutes(-1),
            FinishedAt = now,
            PolicySha256 = "5eed",
            Checks = checks,
            Results = [.. clients.Select(c => new ClientAuditResult(c, outcome, outcome == AuditOutcome.Fail ? checks : [], outcome == AuditOutcome.Indeterminate ? checks : []))],
        };
    }

    private Task<long> Append(AuditReport report) =>
        _store.AppendAsync(RecordTypes.AuditResult, ClientKey.Of(report.Results.Select(r => r.Client)), AuditRunner.ToJson(report), CancellationToken.None).AsTask();

    private SuspensionEngine Engine(IPolicyProvider provider) =>
        new(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")), provider, [], [], [], [], _time);

    private AuditService Service(IPolicyProvider provider, SuspensionEngine engine, IEvidenceStore store, ControllerMetrics metrics)
    {
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var runner = new AuditRunner([new PolicyHashEvidence(_store)], _store, pipeline, _time);
        return new AuditService(runner, provider, engine, store, metrics, _time, NullLogger<AuditService>.Instance);
    }

    private PolicyProvider Policy(params string[] clients)
    {
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, PolicyText(clients));
        var provider = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        return provider!;
    }

    private static string PolicyText(params string[] clients) =>
        "site: {id: s, name: S}\nclients:\n" + string.Concat(clients.Select((c, i) => string.Create(
            CultureInfo.InvariantCulture,
            $"  - {{id: {c}, name: Client {c}, contract_end: 2030-01-01, segments: [{{name: s, vlans: [{101 + i}], subnets: [10.{1 + i}.0.0/24]}}]}}\n")));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }

    private sealed class Collecting : IProgress<string>
    {
        public List<string> Lines { get; } = [];

        public void Report(string value)
        {
            lock (Lines)
            {
                Lines.Add(value);
            }
        }
    }

    /// <summary>Counts the audit results handed to readers.</summary>
    private sealed class CountingStore(IEvidenceStore inner) : IEvidenceStore
    {
        private long _read;

        public long AuditResultsRead => Interlocked.Read(ref _read);

        public StoreHealth Health => inner.Health;

        public event EventHandler<StoreHealth>? HealthChanged
        {
            add => inner.HealthChanged += value;
            remove => inner.HealthChanged -= value;
        }

        public ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
            inner.AppendAsync(type, clients, payload, cancellationToken);

        public bool TryHandOver(string type, string? clients, ReadOnlyMemory<byte> payload, IAppendObserver observer) =>
            inner.TryHandOver(type, clients, payload, observer);

        public async IAsyncEnumerable<StoredRecord> ReadAsync(RecordQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var record in inner.ReadAsync(query, cancellationToken))
            {
                if (record.Type == RecordTypes.AuditResult)
                {
                    Interlocked.Increment(ref _read);
                }

                yield return record;
            }
        }

        public Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken) => inner.VerifyAsync(cancellationToken);

        public Task<long> CheckpointAsync(CancellationToken cancellationToken) => inner.CheckpointAsync(cancellationToken);

        public Task<PurgeResult> PurgeExpiredAsync(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today, CancellationToken cancellationToken) =>
            inner.PurgeExpiredAsync(retainUntil, today, cancellationToken);
    }
}
