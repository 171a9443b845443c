using System.Collections.Concurrent;
using SegmentController.Metrics;

namespace SegmentController.Health;

/// <summary>
/// Whether each verification source (capture, snmp, store, …) currently works. A source that never
/// reported is not healthy: a verifier that did not start must not look like one that found nothing.
/// </summary>
internal sealed partial class VerificationHealth
{
    private readonly ConcurrentDictionary<string, SourceState> _sources = new(StringComparer.Ordinal);
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
    public void Report(string source, bool healthy, string detail)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        var changed = !_sources.TryGetValue(source, out var previous) || previous.Healthy != healthy || previous.Detail != detail;
        _sources[source] = new SourceState(healthy, detail, changed || previous is null ? _time.GetUtcNow() : previous.Since)
        {
            EvidenceLostAt = previous?.EvidenceLostAt,
        };
        _metrics.VerificationHealthy.WithLabels(source).Set(healthy ? 1 : 0);
        if (changed)
        {
            Log.VerificationChanged(_logger, source, healthy, detail);
        }
    }

    /// <summary>
    /// The source found something it could not put on record: it is unhealthy (<paramref name="detail"/>
    /// says why), and the time stays on its state (<see cref="SourceState.EvidenceLostAt"/>) after it
    /// recovers, so that an audit whose window holds that time knows its evidence is incomplete.
    /// </summary>
    public void ReportEvidenceLost(string source, string detail)
    {
        Report(source, healthy: false, detail);
        var now = _time.GetUtcNow();
        _sources.AddOrUpdate(
            source,
            _ => new SourceState(false, detail, now) { EvidenceLostAt = now },
            (_, state) => state with { EvidenceLostAt = now });
    }

    /// <summary>Forgets a source the controller no longer runs (a reload took away what it verified).</summary>
    public void Withdraw(string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        if (_sources.TryRemove(source, out _))
        {
            _metrics.VerificationHealthy.RemoveLabelled(source);
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
