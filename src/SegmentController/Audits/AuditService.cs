using System.Globalization;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Evidence;
using SegmentController.Metrics;

namespace SegmentController.Audits;

/// <summary>
/// Runs audits inside <c>segctl run</c>: on the policy's <c>audits.interval</c> and on demand (operator
/// API), and records those an external auditor did (<see cref="RecordExternalAsync"/>). One audit run at a time. Each report goes into the chain (<see cref="AuditRunner"/>); a failed client
/// raises <c>audit-failed</c> and, where <c>audits.suspend_on_failure</c> (default), is suspended with
/// trigger <c>audit</c>; a passing client is recorded with the suspension engine so that
/// <c>restore.require_passing_audit</c> can be met. Indeterminate records neither. Exports
/// <c>segctl_audit_last_result{client}</c> and <c>segctl_audit_last_timestamp_seconds{client}</c> for every
/// client of the policy: one with no audit on record reads -1 (no conclusive audit) at time 0, so that a
/// client never audited is as stale as one audited long ago.
/// </summary>
/// <remarks>
/// The evidence window of an audit runs from the end of the previous site-wide audit's window (its start:
/// what was recorded while it ran falls in the next window) or the service's start, to now; a single-client
/// audit looks at the same window and does not move it.
/// </remarks>
internal sealed partial class AuditService : BackgroundService
{
    public const string ScheduledTrigger = "scheduled";
    public const string OnDemandTrigger = "on-demand";
    public const string ExternalTrigger = "external";

    /// <summary>The source of an external audit's one check.</summary>
    public const string ExternalSource = "external";

    private const int RecentCapacity = 100;

    private readonly AuditRunner _runner;
    private readonly IPolicyProvider _policy;
    private readonly SuspensionEngine _engine;
    private readonly IEvidenceStore _store;
    private readonly ControllerMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditService> _logger;
    private readonly StoreIntegrityAlerts? _alerts;
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly Lock _lock = new();
    private readonly LinkedList<AuditReport> _recent = new();
    private readonly Dictionary<string, ClientAuditStatus> _last = new(StringComparer.Ordinal);

    // Clients whose audit gauges show a result, and every client that has gauges (guarded by _lock).
    private readonly HashSet<string> _published = new(StringComparer.Ordinal);
    private readonly HashSet<string> _labelled = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _started;
    private readonly CancellationTokenSource _stopping = new();
    private DateTimeOffset _windowStart;

    // The audit history read so far while older records may still settle a client's last result (null
    // once it is all read), and the reads of it, one after another (both guarded by _lock).
    private AuditHistory? _history;
    private Task _historyReads = Task.CompletedTask;

    public AuditService(AuditRunner runner, IPolicyProvider policy, SuspensionEngine engine, IEvidenceStore store, ControllerMetrics metrics, TimeProvider time, ILogger<AuditService> logger, StoreIntegrityAlerts? alerts = null)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _runner = runner;
        _policy = policy;
        _engine = engine;
        _store = store;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _alerts = alerts;
        _started = _windowStart = time.GetUtcNow();
        _policy.PolicyChanged += OnPolicyChanged;
    }

    /// <summary>How often the scheduler looks at the policy's interval again (a reload may change it).</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long after start-up a scheduled audit waits at least (an overdue one included): capture and
    /// the switch poller need a moment before their evidence is there, and would read as indeterminate.
    /// </summary>
    public TimeSpan StartupGrace { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Recent reports, newest first.</summary>
    public IReadOnlyList<AuditReport> Recent
    {
        get
        {
            lock (_lock)
            {
                return [.. _recent];
            }
        }
    }

    /// <summary>The client's latest audit, or null when it has none on record.</summary>
    public ClientAuditStatus? LastFor(string client)
    {
        lock (_lock)
        {
            return _last.GetValueOrDefault(client);
        }
    }

    /// <summary>A report by id: recent ones from memory, older ones from the chain.</summary>
    public async Task<AuditReport?> FindAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (Recent.FirstOrDefault(r => string.Equals(r.Id, id, StringComparison.Ordinal)) is { } recent)
        {
            return recent;
        }

        var needle = System.Text.Encoding.UTF8.GetBytes($"\"{id}\"");
        AuditReport? found = null;
        await foreach (var record in _store.ReadAsync(new RecordQuery { Type = RecordTypes.AuditResult }, cancellationToken).ConfigureAwait(false))
        {
            if (record.Payload is { } payload && payload.Span.IndexOf(needle) >= 0)
            {
                var report = AuditReportJson.Read(payload, record.Index);
                if (string.Equals(report.Id, id, StringComparison.Ordinal))
                {
                    found = report;
                }
            }
        }

        return found;
    }

    /// <summary>
    /// Runs an audit of one client or (null) of every client, waiting for one already running.
    /// </summary>
    /// <exception cref="ArgumentException">The client is not in the policy.</exception>
    /// <exception cref="StoreUnavailableException">The report could not be recorded: it does not count.</exception>
    public async Task<AuditReport> RunAsync(string? client, string trigger, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(trigger);
        ArgumentNullException.ThrowIfNull(progress);
        if (client is not null && _policy.Current.FindClient(client) is null)
        {
            throw new ArgumentException($"'{client}' is not a client of this site", nameof(client));
        }

        if (!_running.Wait(0, CancellationToken.None))
        {
            progress.Report("waiting for the audit already running to finish");
            await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var policy = _policy.Current;
            var clients = client is null ? policy.Clients.Select(c => c.Id).ToArray() : [client];
            var now = _time.GetUtcNow();
            var scope = new AuditScope(policy, clients, WindowStart, now);
            progress.Report(string.Create(CultureInfo.InvariantCulture, $"auditing {string.Join(", ", clients)} against policy {policy.Sha256[..Math.Min(12, policy.Sha256.Length)]}, evidence window from {scope.WindowStart:yyyy-MM-ddTHH:mm:ssZ}"));
            var gathered = await _runner.GatherAsync(scope, trigger, progress, cancellationToken).ConfigureAwait(false);
            AuditReport report;
            try
            {
                report = await _runner.RecordAsync(gathered, policy, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreUnavailableException)
            {
                await SuspendUnrecordedFailuresAsync(policy, gathered, progress, cancellationToken).ConfigureAwait(false);
                throw;
            }

            if (client is null)
            {
                // The next window starts where this one ended, not where the audit finished: what was recorded
                // while it gathered its evidence is judged by the next audit.
                lock (_lock)
                {
                    _windowStart = scope.WindowEnd;
                }
            }

            foreach (var broken in report.Checks.Where(c => c.Source == "store" && c.Outcome == AuditOutcome.Fail))
            {
                _alerts?.VerificationFailed($"audit {report.Id}", broken.Detail);
            }

            // Consequences first (passes recorded, failures suspended), then the report is listed: whoever
            // sees it among the recent audits also sees what it did.
            // A pass speaks for the evidence as it stood when the audit began, not when it was recorded.
            await ApplyAsync(policy, report, scope.WindowEnd, progress, cancellationToken).ConfigureAwait(false);
            Remember(report);
            Log.Completed(_logger, report.Id, trigger, AuditRunner.Name(AuditReportJson.Overall(report)), report.RecordIndex);
            return report;
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>
    /// Records an audit an external auditor did: an audit result like any other (the same record type,
    /// the same <c>audit-failed</c> finding on failure and, where <c>audits.suspend_on_failure</c>, the same
    /// suspension; a pass counts for <c>restore.require_passing_audit</c>), with one check carrying the
    /// summary. It is attributed to <paramref name="recordedBy"/>, the credential that recorded it; the
    /// external auditor, when named, is that person's statement and is kept apart as such. Does not move
    /// the scheduled audits' window.
    /// </summary>
    /// <exception cref="ArgumentException">The client is not in the policy, or the outcome is not pass or fail.</exception>
    /// <exception cref="StoreUnavailableException">The result could not be recorded: it does not count.</exception>
    public async Task<AuditReport> RecordExternalAsync(string client, AuditOutcome outcome, AuditRecorder recordedBy, string? externalAuditor, string summary, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(client);
        ArgumentNullException.ThrowIfNull(recordedBy);
        ArgumentException.ThrowIfNullOrWhiteSpace(summary);
        var policy = _policy.Current;
        if (policy.FindClient(client) is null)
        {
            throw new ArgumentException($"'{client}' is not a client of this site", nameof(client));
        }

        if (outcome == AuditOutcome.Indeterminate)
        {
            throw new ArgumentException("an external audit is recorded as pass or fail", nameof(outcome));
        }

        var now = _time.GetUtcNow();
        AuditCheck[] checks = [new AuditCheck(ExternalSource, ExternalCheckName(recordedBy), [client], outcome, ExternalCheckDetail(summary, externalAuditor))];
        var report = await _runner.RecordAsync(
            new AuditReport
            {
                Id = AuditRunner.NewId(now),
                Trigger = ExternalTrigger,
                StartedAt = now,
                FinishedAt = now,
                PolicySha256 = policy.Sha256,
                Checks = checks,
                Results = AuditReport.Judge([client], checks, [ExternalSource]),
                RecordedBy = recordedBy,
                ExternalAuditor = externalAuditor,
            },
            policy,
            cancellationToken).ConfigureAwait(false);
        await ApplyAsync(policy, report, now, NoProgress.Instance, cancellationToken).ConfigureAwait(false);
        Remember(report);
        Log.Completed(_logger, report.Id, ExternalTrigger, AuditRunner.Name(AuditReportJson.Overall(report)), report.RecordIndex);
        return report;
    }

    /// <summary>The external audit's check, named after the credential that recorded it.</summary>
    public static string ExternalCheckName(AuditRecorder recordedBy)
    {
        ArgumentNullException.ThrowIfNull(recordedBy);
        return $"external audit recorded by {recordedBy.Name}";
    }

    /// <summary>The external audit's summary, followed by the auditor its recorder named, labelled as their statement.</summary>
    public static string ExternalCheckDetail(string summary, string? externalAuditor) =>
        externalAuditor is null ? summary : $"{summary} (external auditor, as stated by the recorder: {externalAuditor})";

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task reads;
        lock (_lock)
        {
            reads = _historyReads;
        }

        await reads.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _policy.PolicyChanged -= OnPolicyChanged;
        _running.Dispose();
        _stopping.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Reads the audits on record back before the host goes on to open the management listener: the status,
    /// the audit endpoints and the <c>segctl_audit_last_*</c> gauges never show a restarted controller without
    /// them. The read is of one record type, newest first through its index, and ends once it has what they
    /// show (<see cref="LoadHistoryAsync"/>); a store that cannot be read is only logged.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await ReadHistoryInTurn(LoadHistoryAsync, cancellationToken).ConfigureAwait(false);
        PublishUnaudited(_policy.Current);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            DateTimeOffset? retryAt = null;
            while (!stoppingToken.IsCancellationRequested)
            {
                var interval = _policy.Current.Audits.Interval;
                var now = _time.GetUtcNow();
                if (interval is { } every)
                {
                    // An interval after the last site-wide audit (on demand or scheduled, across restarts);
                    // one that could not complete is tried again an interval later, not in a hot loop.
                    var due = Max(WindowStart + every, _started + Min(every, StartupGrace));
                    if (retryAt > due)
                    {
                        due = retryAt.Value;
                    }

                    if (now >= due)
                    {
                        retryAt = await RunScheduledAsync(stoppingToken).ConfigureAwait(false) ? null : now + every;
                        continue;
                    }

                    await Task.Delay(Min(due - now, Tick), _time, stoppingToken).ConfigureAwait(false);
                }
                else
                {
                    await Task.Delay(Tick, _time, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> RunScheduledAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(null, ScheduledTrigger, new LogProgress(_logger), stoppingToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not recorded means not done.
            Log.ScheduledFailed(_logger, e);
            return false;
        }
    }

    private DateTimeOffset WindowStart
    {
        get
        {
            lock (_lock)
            {
                return _windowStart;
            }
        }
    }

    private async Task ApplyAsync(SitePolicy policy, AuditReport report, DateTimeOffset evidenceAt, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var actor = $"audit {report.Id}";
        foreach (var result in report.Results)
        {
            Publish(result.Client, result.Outcome, report.FinishedAt);
            try
            {
                switch (result.Outcome)
                {
                    case AuditOutcome.Pass:
                        await _engine.RecordAuditAsync(result.Client, passed: true, evidenceAt, actor, $"audit {report.Id} passed (record {report.RecordIndex})", cancellationToken).ConfigureAwait(false);
                        break;
                    case AuditOutcome.Fail:
                        Log.ClientFailed(_logger, report.Id, result.Client, string.Join("; ", result.FailingChecks.Select(c => c.Name)));
                        if (policy.Audits.SuspendOnFailure)
                        {
                            // The audit-failed finding has tripped it already (and linked the incident); this
                            // makes sure even when a finding consumer failed. A trip in force is left as it is.
                            // Its reason is on record under the client's key: redacted as its finding is.
                            await _engine.RecordAuditAsync(result.Client, passed: false, actor,
                                new ClientRedactor(result.Client, AuditView.Concerned(report), policy).Redact($"audit {report.Id} failed: {string.Join("; ", result.FailingChecks.Select(c => c.Name))}"),
                                cancellationToken).ConfigureAwait(false);
                            progress.Report($"{result.Client}: suspended (audit failed)");
                        }

                        break;
                    default:
                        break;
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException)
            {
                if (result.Outcome == AuditOutcome.Pass)
                {
                    Log.PassNotRecorded(_logger, report.Id, result.Client, e);
                }
                else
                {
                    Log.SuspensionFailed(_logger, report.Id, result.Client, e);
                }
            }
        }

        if (report.FindingsError is { } error)
        {
            progress.Report($"warning: the audit-failed findings were not all handled: {error}");
        }

        if (report.ViewsError is { } unviewed)
        {
            progress.Report($"warning: the clients' own views of the audit were not all recorded (their exports show it withheld): {unviewed}");
        }
    }

    /// <summary>
    /// An audit that could not be recorded does not count — no pass is recorded, no report listed — but a client it
    /// failed is cut off all the same where <c>audits.suspend_on_failure</c> says so (fail closed: a trip never waits on
    /// the store, and the suspension is durable on its own), as an external audit's failure is.
    /// </summary>
    private async Task SuspendUnrecordedFailuresAsync(SitePolicy policy, AuditReport report, IProgress<string> progress, CancellationToken cancellationToken)
    {
        if (!policy.Audits.SuspendOnFailure)
        {
            return;
        }

        foreach (var result in report.Results.Where(r => r.Outcome == AuditOutcome.Fail))
        {
            Log.ClientFailed(_logger, report.Id, result.Client, string.Join("; ", result.FailingChecks.Select(c => c.Name)));
            try
            {
                await _engine.RecordAuditAsync(result.Client, passed: false, $"audit {report.Id}",
                    new ClientRedactor(result.Client, AuditView.Concerned(report), policy).Redact($"audit {report.Id} failed (not recorded: evidence store unavailable): {string.Join("; ", result.FailingChecks.Select(c => c.Name))}"),
                    cancellationToken).ConfigureAwait(false);
                progress.Report($"{result.Client}: suspended (audit failed; the audit itself could not be recorded)");
            }
            catch (Exception e) when (e is IOException or ArgumentException)
            {
                Log.SuspensionFailed(_logger, report.Id, result.Client, e);
            }
        }
    }

    private void Remember(AuditReport report)
    {
        lock (_lock)
        {
            _recent.AddFirst(report);
            while (_recent.Count > RecentCapacity)
            {
                _recent.RemoveLast();
            }

            foreach (var result in report.Results)
            {
                if (!_last.TryGetValue(result.Client, out var previous) || previous.FinishedAt <= report.FinishedAt)
                {
                    _last[result.Client] = new ClientAuditStatus(report.Id, result.Outcome, report.FinishedAt);
                }
            }
        }
    }

    /// <summary>
    /// Reads earlier audits from the chain, newest first, until it has what the service shows: the recent
    /// list, the last result of every client of the policy and the last site-wide audit (the window's start).
    /// </summary>
    /// <remarks>
    /// With a full recent list, every client's last result and a site-wide audit in hand, the read ends
    /// (<see cref="AuditHistory"/> says when a result is a client's last): a long history is not read at each
    /// start. A client of the policy that was never audited, or the lack of any site-wide audit, makes it
    /// read the whole history, since only the oldest record shows there is nothing further back; that lasts
    /// until the first audit of the client, or the first site-wide one. The results of clients the policy no
    /// longer has are kept where the records read settle them; a reload that brings one back (or adds one
    /// never audited) reads on in the background (<see cref="ReadOlderHistoryAsync"/>).
    /// </remarks>
    private async Task LoadHistoryAsync(CancellationToken cancellationToken)
    {
        try
        {
            var policy = _policy.Current;
            var history = new AuditHistory(_store, RecentCapacity, policy.Clients.Count);
            try
            {
                await history.ReadUntilAsync(
                    h => h.Recent.Count >= RecentCapacity && h.LastFull is not null && policy.Clients.All(c => h.Latest(c.Id) is not null),
                    cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // A read that failed part way still shows the results it settled.
                SetSettled(history);
            }

            var lastFull = history.LastFull;

            lock (_lock)
            {
                // Newest first; audits run since start-up are newer than anything read here.
                foreach (var report in history.Recent.Where(r => !_recent.Any(x => x.Id == r.Id)))
                {
                    _recent.AddLast(report);
                }

                while (_recent.Count > RecentCapacity)
                {
                    _recent.RemoveLast();
                }

                _history = history.Complete ? null : history;
            }

            // Never audited site-wide: the first audit answers for everything on record, so evidence from
            // before a restart (a leak, say) is not lost to it.
            DateTimeOffset? firstRecord = null;
            if (lastFull is null)
            {
                await foreach (var record in _store.ReadAsync(new RecordQuery(), cancellationToken).ConfigureAwait(false))
                {
                    firstRecord = record.Time;
                    break;
                }
            }

            lock (_lock)
            {
                // The window reaches back to the last site-wide audit on record, across restarts.
                if ((lastFull ?? firstRecord) is { } end && _windowStart == _started && end < _started)
                {
                    _windowStart = end;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without history audits still run; only the window and the status start from now.
            // A store that cannot be opened is expected (it fails closed, and says so on its own): its reason
            // is enough. Anything else is a defect and keeps its stack trace.
            Log.HistoryNotLoaded(_logger, e.Message, e is StoreUnavailableException ? null : e);
        }
    }

    /// <summary>
    /// After a reload: reads on into the older audits until every client of the policy in force has its last
    /// result (one the start-up read left unsettled, or one the policy then lacked), and publishes them.
    /// </summary>
    private async Task ReadOlderHistoryAsync(CancellationToken cancellationToken)
    {
        AuditHistory? history;
        lock (_lock)
        {
            history = _history;
        }

        if (history is null)
        {
            return;
        }

        try
        {
            await history.ReadUntilAsync(h => _policy.Current.Clients.All(c => h.Latest(c.Id) is not null || LastFor(c.Id) is not null), cancellationToken).ConfigureAwait(false);
            SetSettled(history);
            if (history.Complete)
            {
                lock (_lock)
                {
                    _history = null;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.HistoryNotLoaded(_logger, e.Message, e is StoreUnavailableException ? null : e);
        }
    }

    /// <summary>Takes every client's last result the history has settled.</summary>
    private void SetSettled(AuditHistory history)
    {
        foreach (var client in history.Clients)
        {
            if (history.Latest(client) is { } status)
            {
                SetLast(client, status);
            }
        }
    }

    /// <summary>Runs a read of the audit history after those already asked for (one at a time).</summary>
    private Task ReadHistoryInTurn(Func<CancellationToken, Task> read, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _historyReads = After(_historyReads, read, cancellationToken);
        }

        static async Task After(Task previous, Func<CancellationToken, Task> read, CancellationToken cancellationToken)
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await read(cancellationToken).ConfigureAwait(false);
        }
    }

    private void SetLast(string client, ClientAuditStatus status)
    {
        lock (_lock)
        {
            if (_last.TryGetValue(client, out var previous) && previous.FinishedAt > status.FinishedAt)
            {
                return;
            }

            _last[client] = status;
        }

        Publish(client, status.Outcome, status.FinishedAt);
    }

    private void Publish(string client, AuditOutcome outcome, DateTimeOffset finishedAt)
    {
        // Under the lock: a client's "never audited" (PublishUnaudited) never lands after its first result.
        lock (_lock)
        {
            if (_policy.Current.FindClient(client) is null)
            {
                // A report that finished after a reload took the client out: no series for it again.
                return;
            }

            _published.Add(client);
            _labelled.Add(client);
            _metrics.AuditLastResult.WithLabels(client).Set(MetricValue(outcome));
            _metrics.AuditLastTimestamp.WithLabels(client).Set(finishedAt.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    /// <summary>
    /// Gives every client of <paramref name="policy"/> without an audit on record its gauges: -1 (no
    /// conclusive audit) at time 0, which the staleness alert sees as stale; removes the gauges of clients
    /// the policy no longer has.
    /// </summary>
    private void PublishUnaudited(SitePolicy policy)
    {
        lock (_lock)
        {
            foreach (var client in policy.Clients)
            {
                if (_published.Contains(client.Id))
                {
                    continue;
                }

                _labelled.Add(client.Id);
                if (_last.TryGetValue(client.Id, out var status))
                {
                    // Back in the policy after a reload took it out: its audits are still on record.
                    _published.Add(client.Id);
                    _metrics.AuditLastResult.WithLabels(client.Id).Set(MetricValue(status.Outcome));
                    _metrics.AuditLastTimestamp.WithLabels(client.Id).Set(status.FinishedAt.ToUnixTimeMilliseconds() / 1000.0);
                }
                else
                {
                    _metrics.AuditLastResult.WithLabels(client.Id).Set(-1);
                    _metrics.AuditLastTimestamp.WithLabels(client.Id).Set(0);
                }
            }

            foreach (var gone in _labelled.Where(c => policy.FindClient(c) is null).ToArray())
            {
                _metrics.AuditLastResult.RemoveLabelled(gone);
                _metrics.AuditLastTimestamp.RemoveLabelled(gone);
                _labelled.Remove(gone);
                _published.Remove(gone);
            }
        }
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy)
    {
        PublishUnaudited(policy);
        bool readOn;
        lock (_lock)
        {
            readOn = _history is not null && policy.Clients.Any(c => !_last.ContainsKey(c.Id));
        }

        if (readOn && !_stopping.IsCancellationRequested)
        {
            // In the background: a reload does not wait for the store.
            _ = ReadHistoryInTurn(ReadOlderHistoryAsync, _stopping.Token);
        }
    }

    private static double MetricValue(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Pass => 1,
        AuditOutcome.Fail => 0,
        _ => -1,
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private sealed class NoProgress : IProgress<string>
    {
        public static readonly NoProgress Instance = new();

        public void Report(string value)
        {
        }
    }

    /// <summary>Progress of scheduled audits goes to the log.</summary>
    private sealed class LogProgress(ILogger logger) : IProgress<string>
    {
        public void Report(string value) => Log.Progress(logger, value);
    }

    private static partial class Log
    {
        [LoggerMessage(AuditEventIds.AuditCompleted, LogLevel.Information, "Audit {Id} ({Trigger}): {Result}, record {Index}")]
        public static partial void Completed(ILogger logger, string id, string trigger, string result, long index);

        [LoggerMessage(AuditEventIds.AuditFailed, LogLevel.Critical, "Audit {Id} failed for {Client}: {Checks}")]
        public static partial void ClientFailed(ILogger logger, string id, string client, string checks);

        [LoggerMessage(AuditEventIds.AuditPassNotRecorded, LogLevel.Error, "Audit {Id} passed for {Client} but the pass could not be recorded with the suspension state")]
        public static partial void PassNotRecorded(ILogger logger, string id, string client, Exception exception);

        [LoggerMessage(AuditEventIds.AuditSuspensionFailed, LogLevel.Critical, "Audit {Id} failed for {Client} and the client could not be suspended")]
        public static partial void SuspensionFailed(ILogger logger, string id, string client, Exception exception);

        [LoggerMessage(AuditEventIds.ScheduledAuditFailed, LogLevel.Error, "The scheduled audit could not be completed")]
        public static partial void ScheduledFailed(ILogger logger, Exception exception);

        [LoggerMessage(AuditEventIds.HistoryNotLoaded, LogLevel.Warning, "Earlier audits could not be read from the evidence store: {Reason}")]
        public static partial void HistoryNotLoaded(ILogger logger, string reason, Exception? exception);

        [LoggerMessage(AuditEventIds.AuditProgress, LogLevel.Information, "Audit: {Progress}")]
        public static partial void Progress(ILogger logger, string progress);
    }
}
