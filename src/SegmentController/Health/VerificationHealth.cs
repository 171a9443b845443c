using System.Collections.Concurrent;
using SegmentController.Metrics;

namespace SegmentController.Health;

/// <summary>
/// Whether each verification source (capture, snmp, store, …) currently works. A source that never
/// reported is not healthy: a verifier that did not start must not look like one that found nothing.
/// </summary>
/// <remarks>
/// Two things publish a source's health: the state /healthz reads (<see cref="Snapshot"/>) and
/// <c>segctl_verification_healthy</c>. They are changed one after the other, under one lock, so reports of
/// one source from several threads leave them agreeing, and in an order that keeps the gauge the
/// pessimistic one: a source that fails has its gauge set to 0 before /healthz says so, and one that
/// recovers has its gauge set to 1 only after /healthz says so. A scrape therefore never finds the gauge at
/// 1 while /healthz already reports the source unhealthy — an alert on the gauge fires no later and clears no
/// earlier than /healthz says — and both say a failure, with the time evidence was lost where it was, before
/// the change is logged and before the reporter goes on to act on it (publish the findings that trip a
/// suspension, fail an audit).
/// </remarks>
internal sealed partial class VerificationHealth
{
    private readonly ConcurrentDictionary<string, SourceState> _sources = new(StringComparer.Ordinal);
    private readonly Lock _publishing = new();
    private readonly ControllerMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<VerificationHealth> _logger;

    public VerificationHealth(ControllerMetrics metrics, TimeProvider time, ILogger<VerificationHealth> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>Declares a source the controller runs, unhealthy until it reports.</summary>
    public void Expect(string source) =>
        Report(source, healthy: false, "starting");

    /// <summary>Records the current state of a source.</summary>
    public void Report(string source, bool healthy, string detail) =>
        Publish(source, healthy, detail, evidenceLost: false);

    /// <summary>
    /// The source found something it could not put on record: it is unhealthy (<paramref name="detail"/>
    /// says why), and the time stays on its state (<see cref="SourceState.EvidenceLostAt"/>) after it
    /// recovers, so that an audit whose window holds that time knows its evidence is incomplete.
    /// </summary>
    public void ReportEvidenceLost(string source, string detail) =>
        Publish(source, healthy: false, detail, evidenceLost: true);

    private void Publish(string source, bool healthy, string detail, bool evidenceLost)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        bool changed;
        lock (_publishing)
        {
            var now = _time.GetUtcNow();
            var previous = _sources.GetValueOrDefault(source);
            changed = previous is null || previous.Healthy != healthy || previous.Detail != detail;
            var state = new SourceState(healthy, detail, changed ? now : previous!.Since)
            {
                EvidenceLostAt = evidenceLost ? now : previous?.EvidenceLostAt,
            };
            var gauge = _metrics.VerificationHealthy.WithLabels(source);
            if (healthy)
            {
                _sources[source] = state;
                gauge.Set(1);
            }
            else
            {
                gauge.Set(0);
                _sources[source] = state;
            }
        }

        if (changed)
        {
            Log.VerificationChanged(_logger, source, healthy, detail);
        }
    }

    /// <summary>Forgets a source the controller no longer runs (a reload took away what it verified).</summary>
    public void Withdraw(string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        bool removed;
        lock (_publishing)
        {
            removed = _sources.TryRemove(source, out _);
            if (removed)
            {
                _metrics.VerificationHealthy.RemoveLabelled(source);
            }
        }

        if (removed)
        {
            Log.VerificationWithdrawn(_logger, source);
        }
    }

    /// <summary>A snapshot of every source.</summary>
    public IReadOnlyDictionary<string, SourceState> Snapshot() =>
        new SortedDictionary<string, SourceState>(_sources, StringComparer.Ordinal);

    /// <summary>One source's state.</summary>
    public sealed record SourceState(bool Healthy, string Detail, DateTimeOffset Since)
    {
        /// <summary>When the source last found something it could not put on record (null: never).</summary>
        public DateTimeOffset? EvidenceLostAt { get; init; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.VerificationChanged, LogLevel.Information, "Verification source {Source}: healthy={Healthy} ({Detail})")]
        public static partial void VerificationChanged(ILogger logger, string source, bool healthy, string detail);

        [LoggerMessage(EventIds.VerificationWithdrawn, LogLevel.Information, "Verification source {Source} withdrawn: the policy no longer gives it anything to verify")]
        public static partial void VerificationWithdrawn(ILogger logger, string source);
    }
}
