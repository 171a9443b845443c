using SegmentController.Capture.Classification;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Metrics;

namespace SegmentController.Capture;

/// <summary>
/// Captures on every interface the policy names (one thread each), publishes new findings every
/// <see cref="PublishInterval"/>, exports capture metrics and reports the <c>capture</c> verification
/// source. A policy reload swaps the policy index under the running capture. A source that fails is
/// reported unhealthy and reopened; capture that loses frames or goes silent is unhealthy too.
/// </summary>
internal sealed partial class CaptureService : BackgroundService
{
    public const string HealthSource = "capture";

    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(5);

    private readonly IPolicyProvider _policy;
    private readonly IFindingSink _sink;
    private readonly ControllerMetrics _metrics;
    private readonly VerificationHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<CaptureService> _logger;
    private readonly List<InterfaceRun> _runs = [];
    private readonly SemaphoreSlim _violationSignal = new(0, 1);

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
    }

    public TimeSpan PublishInterval { get; init; } = TimeSpan.FromSeconds(1);

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
            foreach (var settings in policy.Controller.Capture.Interfaces)
            {
                _runs.Add(new InterfaceRun(settings, new CaptureAnalyzer(index, settings.Name)
                {
                    StartedTicks = _time.GetUtcNow().UtcTicks,
                    ViolationRecorded = SignalViolation,
                }));
            }

            _policy.PolicyChanged += OnPolicyChanged;
        }

        await base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _violationSignal.Dispose();
        base.Dispose();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _policy.PolicyChanged -= OnPolicyChanged;
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

                await PublishAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(_runs.Select(r => r.Thread ?? Task.CompletedTask));
        await PublishAsync(CancellationToken.None);
    }

    /// <summary>Runs on a dedicated thread: libpcap reads block, so they must not hold a pool thread.</summary>
    private void CaptureLoop(InterfaceRun run, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            using var source = new LiveInterfaceSource(run.Settings, _time);
            run.Source = source;
            try
            {
                run.Failure = null;
                Log.CaptureStarted(_logger, run.Settings.Name, run.Settings.SnapLength, run.Settings.Filter ?? "");
                source.Run(run.Analyzer, stoppingToken);
            }
            catch (CaptureSourceException e)
            {
                run.Failure = e.Message;
                Log.CaptureFailed(_logger, run.Settings.Name, e);
            }
            finally
            {
                run.Source = null;
            }

            stoppingToken.WaitHandle.WaitOne(RestartDelay);
        }
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var findings = new List<Finding>();
        var problems = new List<string>();
        foreach (var run in _runs)
        {
            var analyzer = run.Analyzer;
            var name = run.Settings.Name;
            Advance(_metrics.CapturePacketsTotal.WithLabels(name), analyzer.Packets, ref run.PublishedPackets);
            Advance(_metrics.CaptureDroppedTotal.WithLabels(name), analyzer.Statistics.TotalDropped, ref run.PublishedDropped);
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
            if (run.Failure is not null)
            {
                problems.Add(run.Failure);
            }
            else if (run.Source is null)
            {
                problems.Add($"{name}: not capturing");
            }
            else if (analyzer.Degraded)
            {
                problems.Add($"{name}: degraded (loss above threshold or silence)");
            }
        }

        _health.Report(HealthSource, problems.Count == 0, problems.Count == 0 ? $"{_runs.Count} interface(s) capturing" : string.Join("; ", problems));
        if (findings.Count > 0)
        {
            try
            {
                await _sink.PublishAsync(findings, cancellationToken);
            }
            catch (AggregateException e)
            {
                // The pipeline logged each consumer's failure; capture goes on, but not as healthy.
                Log.PublishFailed(_logger, e);
                _health.Report(HealthSource, false, "findings could not be recorded");
            }
        }
    }

    private static void Advance(Prometheus.Counter.Child counter, long total, ref long published)
    {
        if (total > published)
        {
            counter.Inc(total - published);
            published = total;
        }
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy) =>
        _ = ApplyPolicyAsync(policy);

    private async Task ApplyPolicyAsync(SitePolicy policy)
    {
        try
        {
            var index = await BuildIndexAsync(policy, CancellationToken.None);
            foreach (var run in _runs)
            {
                run.Analyzer.UpdatePolicy(index);
            }

            Log.PolicyApplied(_logger, policy.Sha256);
            var configured = policy.Controller.Capture.Interfaces.Select(i => i.Name).Order(StringComparer.Ordinal);
            var running = _runs.Select(r => r.Settings.Name).Order(StringComparer.Ordinal);
            if (!configured.SequenceEqual(running, StringComparer.Ordinal))
            {
                Log.InterfacesChanged(_logger);
            }
        }
        catch (OperationCanceledException e)
        {
            Log.CaptureFailed(_logger, "policy reload", e);
        }
    }

    private async Task<PolicyIndex> BuildIndexAsync(SitePolicy policy, CancellationToken cancellationToken)
    {
        var index = await PolicyIndex.BuildAsync(policy, null, ResolveTimeout, cancellationToken);
        foreach (var warning in index.Warnings)
        {
            Log.PolicyWarning(_logger, warning);
        }

        return index;
    }

    /// <summary>One interface's capture: owned by its thread, read by the publisher.</summary>
    private sealed class InterfaceRun(CaptureInterface settings, CaptureAnalyzer analyzer)
    {
        public CaptureInterface Settings { get; } = settings;

        public CaptureAnalyzer Analyzer { get; } = analyzer;

        public Task? Thread { get; set; }

        public volatile LiveInterfaceSource? Source;

        public volatile string? Failure;

        public long PublishedPackets;

        public long PublishedDropped;

        public Dictionary<string, long> PublishedClientPackets { get; } = new(StringComparer.Ordinal);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.CaptureStarted, LogLevel.Information, "Capturing on {Interface} (snap length {SnapLength}, filter '{Filter}')")]
        public static partial void CaptureStarted(ILogger logger, string @interface, int snapLength, string filter);

        [LoggerMessage(EventIds.CaptureFailed, LogLevel.Error, "Capture on {Interface} failed; retrying")]
        public static partial void CaptureFailed(ILogger logger, string @interface, Exception exception);

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
