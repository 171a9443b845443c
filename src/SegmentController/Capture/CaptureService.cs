using System.Globalization;
using System.Threading.Channels;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Metrics;

namespace SegmentController.Capture;

/// <summary>
/// Captures on every interface the policy names (one thread each), publishes new findings at once and
/// updates of them every <see cref="FindingUpdateInterval"/>, writes the evidence pcaps, exports capture
/// metrics and reports the <c>capture</c> verification source. A policy reload swaps the policy index
/// under the running capture and reopens an interface whose capture settings changed; reloads apply
/// one at a time, in order. A source that fails is reported unhealthy and reopened (it counts as silent
/// meanwhile: gone longer than the policy's silence, it is capture-degraded); capture that loses frames,
/// goes silent or overflows its violation table is unhealthy too.
/// </summary>
internal sealed partial class CaptureService : BackgroundService
{
    public const string HealthSource = "capture";

    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SilenceCheckInterval = TimeSpan.FromMilliseconds(200);

    private readonly IPolicyProvider _policy;
    private readonly IFindingSink _sink;
    private readonly ControllerMetrics _metrics;
    private readonly VerificationHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<CaptureService> _logger;
    private readonly CaptureEvidenceWriter _evidence;
    private readonly List<InterfaceRun> _runs = [];
    private readonly SemaphoreSlim _violationSignal = new(0, 1);
    private readonly Channel<SitePolicy> _reloads = Channel.CreateUnbounded<SitePolicy>(new UnboundedChannelOptions { SingleReader = true });
    private DateTimeOffset _nextUpdate;

    // Why capture is not healthy since findings could not be recorded, until a later publication is.
    private string? _unrecorded;

    public CaptureService(IPolicyProvider policy, IFindingSink sink, ControllerMetrics metrics, VerificationHealth health, TimeProvider time, ILogger<CaptureService> logger)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(health);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _policy = policy;
        _sink = sink;
        _metrics = metrics;
        _health = health;
        _time = time;
        _logger = logger;
        _evidence = new CaptureEvidenceWriter(logger);
    }

    /// <summary>How often metrics and health are published (new findings go out at once).</summary>
    public TimeSpan PublishInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often findings whose counts moved are published again, as updates.</summary>
    public TimeSpan FindingUpdateInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a violation's first frames are gathered before its evidence pcap is written (sooner once all are kept).</summary>
    public TimeSpan EvidenceWindow { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Evidence files written per pass of the evidence loop at most (one pass per <see cref="PublishInterval"/>).</summary>
    public int EvidenceFilesPerPass { get; init; } = 256;

    /// <summary>Bounds of each interface's analyzer (the defaults unless set).</summary>
    public CaptureAnalyzerOptions? AnalyzerOptions { get; init; }

    /// <summary>The evidence directory in use.</summary>
    public string? EvidenceDirectory => _evidence.Directory;

    /// <summary>The settings each interface is captured with now (they follow policy reloads).</summary>
    public IReadOnlyList<CaptureInterface> InterfaceSettings => _runs.Select(r => r.Settings).ToArray();

    private void SignalViolation()
    {
        // At most one pending wake-up: many violations in a burst are taken together.
        if (_violationSignal.CurrentCount == 0)
        {
            try
            {
                _violationSignal.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var policy = _policy.Current;
        if (policy.Controller.Capture.Interfaces.Count > 0)
        {
            // Declared before the first frame: a capture that never starts must not look healthy.
            _health.Expect(HealthSource);
            var index = await BuildIndexAsync(policy, cancellationToken);
            ConfigureEvidence(policy);
            foreach (var settings in policy.Controller.Capture.Interfaces)
            {
                _runs.Add(new InterfaceRun(settings, new CaptureAnalyzer(index, settings.Name, AnalyzerOptions)
                {
                    StartedTicks = _time.GetUtcNow().UtcTicks,
                    ViolationRecorded = SignalViolation,
                }));
            }

            _nextUpdate = _time.GetUtcNow() + FindingUpdateInterval;
            _policy.PolicyChanged += OnPolicyChanged;
        }

        await base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _violationSignal.Dispose();
        foreach (var run in _runs)
        {
            run.Wake.Dispose();
        }

        base.Dispose();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _policy.PolicyChanged -= OnPolicyChanged;
        _reloads.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_runs.Count == 0)
        {
            return;
        }

        foreach (var run in _runs)
        {
            run.Thread = Task.Factory.StartNew(() => CaptureLoop(run, stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        var reloading = ReloadLoopAsync(stoppingToken);
        var writing = Task.Run(() => EvidenceLoopAsync(stoppingToken), CancellationToken.None);

        // Metrics and health are published every interval; a new violation is published at once, since
        // a critical one trips the kill switch and every millisecond of delay is exposure.
        var tick = _time.GetUtcNow() + PublishInterval;
        Task? wake = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                wake ??= _violationSignal.WaitAsync(stoppingToken);
                var wait = tick - _time.GetUtcNow();
                if (wait > TimeSpan.Zero && !wake.IsCompleted)
                {
                    using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    await Task.WhenAny(wake, Task.Delay(wait, _time, delayCancel.Token));
                    await delayCancel.CancelAsync();
                }

                if (wake.IsCompleted)
                {
                    await wake;
                    wake = null;
                }

                if (_time.GetUtcNow() >= tick)
                {
                    tick = _time.GetUtcNow() + PublishInterval;
                }

                await PublishAsync(final: false, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(_runs.Select(r => r.Thread ?? Task.CompletedTask));
        await reloading;
        await writing;

        // What the threads counted last, every pending evidence file and every count, before stopping.
        WriteEvidence(final: true);
        await PublishAsync(final: true, CancellationToken.None);
    }

    /// <summary>Runs on a dedicated thread: libpcap reads block, so they must not hold a pool thread.</summary>
    private void CaptureLoop(InterfaceRun run, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            using var restart = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            CaptureInterface settings;
            lock (run.Sync)
            {
                settings = run.Settings;
                run.SettingsChanged = false;
                run.Restart = restart;
            }

            bool changed;
            LiveInterfaceSource? attempt = null;
            try
            {
                using var source = new LiveInterfaceSource(settings, _time);
                attempt = source;
                run.Source = source;
                Log.CaptureStarted(_logger, settings.Name, settings.SnapLength, settings.BufferMiB, settings.Promiscuous, settings.Filter ?? "");
                source.Run(run.Analyzer, restart.Token);
                run.Failure = null;
            }
            catch (CaptureSourceException e)
            {
                // A source that fails (an interface gone, down, not yet there) says why in one line; retried
                // every few seconds, the same reason again without having opened in between is logged at
                // debug level only.
                var repeated = attempt is not { HasOpened: true } && string.Equals(run.Failure, e.Message, StringComparison.Ordinal);
                run.Failure = e.Message;
                if (repeated)
                {
                    Log.CaptureSourceStillFailing(_logger, settings.Name, e.Message);
                }
                else
                {
                    Log.CaptureSourceFailed(_logger, settings.Name, e.Message);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // A fault in analysing one frame must not end the interface's monitoring for good: it is
                // reported like a failed source (verification degraded meanwhile) and capture reopens.
                run.Failure = $"capture stopped by an unexpected error: {e.Message}";
                Log.CaptureFailed(_logger, settings.Name, e);
            }
            finally
            {
                run.Source = null;
                lock (run.Sync)
                {
                    run.Restart = null;
                    changed = run.SettingsChanged;
                }
            }

            if (changed || stoppingToken.IsCancellationRequested)
            {
                continue;
            }

            // After a failure: retry after a pause, or at once when a reload brings new settings.
            WaitForRetry(run, stoppingToken);
            run.Wake.Reset();
        }
    }

    /// <summary>
    /// The pause before reopening a failed source. No frame is seen meanwhile, so the silence clock runs
    /// on: an interface that is gone (deleted, never there, failing to open) is capture-degraded once the
    /// policy's silence has passed, as a quiet one is — verification is lost, not merely unhealthy.
    /// Runs on the interface's capture thread, which owns the analyzer.
    /// </summary>
    private void WaitForRetry(InterfaceRun run, CancellationToken stoppingToken)
    {
        var started = _time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            run.Analyzer.CheckSilence(_time.GetUtcNow().UtcTicks, run.Analyzer.StartedTicks);
            var left = RestartDelay - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero
                || WaitHandle.WaitAny([stoppingToken.WaitHandle, run.Wake.WaitHandle], left < SilenceCheckInterval ? left : SilenceCheckInterval) != WaitHandle.WaitTimeout)
            {
                return;
            }
        }
    }

    private async Task PublishAsync(bool final, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var findings = new List<Finding>();
        var problems = new List<string>();
        foreach (var run in _runs)
        {
            var analyzer = run.Analyzer;
            var name = run.Name;
            Advance(_metrics.CapturePacketsTotal.WithLabels(name), analyzer.Packets, ref run.PublishedPackets);
            Advance(_metrics.CaptureDroppedTotal.WithLabels(name), analyzer.Statistics.TotalDropped, ref run.PublishedDropped);
            Advance(_metrics.CaptureSuppressedViolationsTotal.WithLabels(name), analyzer.SuppressedViolations, ref run.PublishedSuppressed);
            foreach (var (client, packets) in analyzer.ClientPackets())
            {
                var published = run.PublishedClientPackets.GetValueOrDefault(client);
                if (packets > published)
                {
                    _metrics.ClientPacketsTotal.WithLabels(client).Inc(packets - published);
                    run.PublishedClientPackets[client] = packets;
                }
            }

            findings.AddRange(analyzer.TakeNewFindings(now));
            if (run.Source is not { IsOpen: true })
            {
                // Between a failure and a reopen that works, the last failure says why nothing is captured.
                problems.Add(run.Failure ?? $"{name}: not capturing");
            }
            else if (analyzer.Degraded)
            {
                problems.Add($"{name}: degraded (loss above threshold, silence, more violations than are tracked one by one, or more ARP claims than are remembered)");
            }
        }

        if (_unrecorded is { } unrecorded)
        {
            problems.Add(unrecorded);
        }

        _health.Report(HealthSource, problems.Count == 0, problems.Count == 0 ? $"{_runs.Count} interface(s) capturing" : string.Join("; ", problems));

        // New findings first, on their own: a trip must not wait for anything else.
        await PublishFindingsAsync(findings, cancellationToken);

        var counts = final || now >= _nextUpdate;
        if (counts)
        {
            _nextUpdate = now + FindingUpdateInterval;
        }

        var updates = new List<Finding>();
        foreach (var run in _runs)
        {
            updates.AddRange(run.Analyzer.TakeUpdates(now, counts));
        }

        await PublishFindingsAsync(updates, cancellationToken);
    }

    /// <summary>
    /// Writes evidence pcaps on its own loop, so file writes never delay the publication of a new
    /// finding; the update naming each file goes out with the next publication.
    /// </summary>
    private async Task EvidenceLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                WriteEvidence(final: false);
                await Task.Delay(PublishInterval, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void WriteEvidence(bool final)
    {
        var now = _time.GetUtcNow().UtcTicks;
        foreach (var run in _runs)
        {
            var ready = run.Analyzer.TakeEvidence(now, final ? TimeSpan.Zero : EvidenceWindow, final ? int.MaxValue : EvidenceFilesPerPass);
            foreach (var (violation, frames) in ready)
            {
                var (path, sha256, note) = _evidence.Write(run.Name, violation, frames);
                run.Analyzer.EvidenceWritten(violation, path, sha256, note);
            }
        }
    }

    private async Task PublishFindingsAsync(List<Finding> findings, CancellationToken cancellationToken)
    {
        if (findings.Count == 0)
        {
            return;
        }

        try
        {
            await _sink.PublishAsync(findings, cancellationToken);
        }
        catch (AggregateException e)
        {
            // The pipeline logged each consumer's failure; capture goes on, but not as healthy: not until
            // a later publication is recorded, and an audit whose window holds this time is incomplete.
            Log.PublishFailed(_logger, e);
            _unrecorded = string.Create(CultureInfo.InvariantCulture, $"findings could not be recorded at {_time.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ}");
            _health.ReportEvidenceLost(HealthSource, _unrecorded);
            return;
        }

        _unrecorded = null;
    }

    private static void Advance(Prometheus.Counter.Child counter, long total, ref long published)
    {
        if (total > published)
        {
            counter.Inc(total - published);
            published = total;
        }
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy) => _reloads.Writer.TryWrite(policy);

    /// <summary>Applies reloads one at a time in the order they happened; of several waiting, only the latest.</summary>
    private async Task ReloadLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _reloads.Reader.WaitToReadAsync(stoppingToken))
            {
                SitePolicy? latest = null;
                while (_reloads.Reader.TryRead(out var policy))
                {
                    latest = policy;
                }

                if (latest is not null)
                {
                    await ApplyPolicyAsync(latest, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ApplyPolicyAsync(SitePolicy policy, CancellationToken cancellationToken)
    {
        var index = await BuildIndexAsync(policy, cancellationToken);
        ConfigureEvidence(policy);
        foreach (var run in _runs)
        {
            run.Analyzer.UpdatePolicy(index);
            var configured = policy.Controller.Capture.Interfaces.FirstOrDefault(i => string.Equals(i.Name, run.Name, StringComparison.Ordinal));
            if (configured is null)
            {
                continue;
            }

            lock (run.Sync)
            {
                if (configured == run.Settings)
                {
                    continue;
                }

                Log.CaptureRestarting(_logger, run.Name, configured.SnapLength, configured.BufferMiB, configured.Promiscuous, configured.Filter ?? "");
                run.Settings = configured;
                run.SettingsChanged = true;
                run.Restart?.Cancel();
            }

            run.Wake.Set();
        }

        Log.PolicyApplied(_logger, policy.Sha256);
        var configuredNames = policy.Controller.Capture.Interfaces.Select(i => i.Name).Order(StringComparer.Ordinal);
        var running = _runs.Select(r => r.Name).Order(StringComparer.Ordinal);
        if (!configuredNames.SequenceEqual(running, StringComparer.Ordinal))
        {
            Log.InterfacesChanged(_logger);
        }
    }

    private void ConfigureEvidence(SitePolicy policy) =>
        _evidence.Configure(CaptureEvidenceWriter.DirectoryFor(policy), policy.Controller.Capture.EvidenceMaxMiB * 1024L * 1024L);

    private async Task<PolicyIndex> BuildIndexAsync(SitePolicy policy, CancellationToken cancellationToken)
    {
        var index = await PolicyIndex.BuildAsync(policy, null, ResolveTimeout, cancellationToken);
        foreach (var warning in index.Warnings)
        {
            Log.PolicyWarning(_logger, warning);
        }

        return index;
    }

    /// <summary>One interface's capture: owned by its thread, read by the publisher, resettled by reloads.</summary>
    private sealed class InterfaceRun(CaptureInterface settings, CaptureAnalyzer analyzer)
    {
        public string Name { get; } = settings.Name;

        public CaptureAnalyzer Analyzer { get; } = analyzer;

        public Task? Thread { get; set; }

        /// <summary>Guards <see cref="Settings"/>, <see cref="SettingsChanged"/> and <see cref="Restart"/>.</summary>
        public Lock Sync { get; } = new();

        public CaptureInterface Settings { get; set; } = settings;

        /// <summary>True when <see cref="Settings"/> changed since the running source was opened.</summary>
        public bool SettingsChanged { get; set; }

        /// <summary>Cancels the running source (to reopen it with new settings).</summary>
        public CancellationTokenSource? Restart { get; set; }

        /// <summary>Cuts the pause after a failure short when new settings arrive.</summary>
        public ManualResetEventSlim Wake { get; } = new();

        public volatile LiveInterfaceSource? Source;

        public volatile string? Failure;

        public long PublishedPackets;

        public long PublishedDropped;

        public long PublishedSuppressed;

        public Dictionary<string, long> PublishedClientPackets { get; } = new(StringComparer.Ordinal);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.CaptureStarted, LogLevel.Information, "Capturing on {Interface} (snap length {SnapLength}, buffer {BufferMiB} MiB, promiscuous {Promiscuous}, filter '{Filter}')")]
        public static partial void CaptureStarted(ILogger logger, string @interface, int snapLength, int bufferMiB, bool promiscuous, string filter);

        [LoggerMessage(EventIds.CaptureSourceFailed, LogLevel.Error, "Capture on {Interface} failed: {Reason}; retrying")]
        public static partial void CaptureSourceFailed(ILogger logger, string @interface, string reason);

        [LoggerMessage(EventIds.CaptureSourceStillFailing, LogLevel.Debug, "Capture on {Interface} still failing: {Reason}; retrying")]
        public static partial void CaptureSourceStillFailing(ILogger logger, string @interface, string reason);

        [LoggerMessage(EventIds.CaptureFailed, LogLevel.Error, "Capture on {Interface} failed; retrying")]
        public static partial void CaptureFailed(ILogger logger, string @interface, Exception exception);

        [LoggerMessage(EventIds.CaptureRestarting, LogLevel.Information, "Capture settings of {Interface} changed: reopening it (snap length {SnapLength}, buffer {BufferMiB} MiB, promiscuous {Promiscuous}, filter '{Filter}')")]
        public static partial void CaptureRestarting(ILogger logger, string @interface, int snapLength, int bufferMiB, bool promiscuous, string filter);

        [LoggerMessage(EventIds.CapturePolicyWarning, LogLevel.Warning, "Capture policy index: {Warning}")]
        public static partial void PolicyWarning(ILogger logger, string warning);

        [LoggerMessage(EventIds.CapturePolicyApplied, LogLevel.Information, "Capture now judges against policy {Sha256}")]
        public static partial void PolicyApplied(ILogger logger, string sha256);

        [LoggerMessage(EventIds.CaptureInterfacesChanged, LogLevel.Warning, "The policy's capture interfaces changed; the new set takes effect after a restart")]
        public static partial void InterfacesChanged(ILogger logger);

        [LoggerMessage(EventIds.CapturePublishFailed, LogLevel.Error, "Capture findings were not recorded by every consumer")]
        public static partial void PublishFailed(ILogger logger, Exception exception);
    }
}
