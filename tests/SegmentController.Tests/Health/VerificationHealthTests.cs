using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using SegmentController.Health;
using SegmentController.Metrics;

namespace SegmentController.Tests.Health;

/// <summary>
/// A source's health as /healthz (the health check and its per-source data) and segctl_verification_healthy
/// publish it: both say a failure before anything else acts on it, the first of those being the log line.
/// </summary>
public sealed class VerificationHealthTests
{
    private const string Source = "capture";

    private readonly ControllerMetrics _metrics = new(Prometheus.Metrics.NewCustomRegistry());

    [Fact]
    public void EvidenceLost_WhenTheChangeIsLogged_HealthzAndGaugeAlreadySaySo_WithTheTimeItWasLost()
    {
        var logger = new ObservingLogger();
        var health = new VerificationHealth(_metrics, TimeProvider.System, logger);
        var check = new VerificationHealthCheck(health);
        health.Report(Source, healthy: true, "1 interface(s) capturing");
        (HealthStatus Status, VerificationHealth.SourceState State, double Gauge)? seen = null;
        logger.OnLog = () => seen = (
            check.CheckHealthAsync(new HealthCheckContext()).GetAwaiter().GetResult().Status,
            health.Snapshot()[Source],
            _metrics.VerificationHealthy.WithLabels(Source).Value);

        health.ReportEvidenceLost(Source, "findings could not be recorded");

        Assert.NotNull(seen);
        var (status, state, gauge) = seen.Value;
        Assert.Equal(HealthStatus.Unhealthy, status);
        Assert.False(state.Healthy);
        Assert.True(state.EvidenceLostAt is not null, "when the loss was logged, /healthz's state of the source had no time evidence was lost");
        Assert.Equal(0, gauge);
    }

    /// <summary>Calls <see cref="OnLog"/> as a line is logged, to look at what others can see at that moment.</summary>
    private sealed class ObservingLogger : ILogger<VerificationHealth>
    {
        public Action? OnLog { get; set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            OnLog?.Invoke();
    }
}
