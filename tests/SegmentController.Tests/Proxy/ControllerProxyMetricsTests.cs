using SegmentController.Metrics;
using SegmentController.Proxy;

namespace SegmentController.Tests.Proxy;

/// <summary>The proxy's request metrics as the controller keeps them: per client and outcome, and nothing allocated per request.</summary>
public sealed class ControllerProxyMetricsTests
{
    [Fact]
    public void RequestCompleted_CountsAndTimesUnderTheRequestsClientAndOutcome()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var proxy = new ControllerProxyMetrics(metrics);

        proxy.RequestCompleted("acme", ProxyOutcomes.Forwarded, TimeSpan.FromMilliseconds(1));
        proxy.RequestCompleted("acme", ProxyOutcomes.Forwarded, TimeSpan.FromMilliseconds(3));
        proxy.RequestCompleted("acme", ProxyOutcomes.CrossClient, TimeSpan.FromMilliseconds(2));
        proxy.RequestCompleted("globex", ProxyOutcomes.Forwarded, TimeSpan.FromSeconds(1));
        proxy.RequestCompleted(ProxyOutcomes.UnknownClient, ProxyOutcomes.UnknownSource, TimeSpan.Zero);

        Assert.Equal(2, metrics.ProxyRequestsTotal.WithLabels("acme", ProxyOutcomes.Forwarded).Value);
        Assert.Equal(1, metrics.ProxyRequestsTotal.WithLabels("acme", ProxyOutcomes.CrossClient).Value);
        Assert.Equal(1, metrics.ProxyRequestsTotal.WithLabels("globex", ProxyOutcomes.Forwarded).Value);
        Assert.Equal(0, metrics.ProxyRequestsTotal.WithLabels("globex", ProxyOutcomes.CrossClient).Value);
        Assert.Equal(1, metrics.ProxyRequestsTotal.WithLabels(ProxyOutcomes.UnknownClient, ProxyOutcomes.UnknownSource).Value);
        Assert.Equal(3, metrics.ProxyRequestDuration.WithLabels("acme").Count);
        Assert.Equal(0.006, metrics.ProxyRequestDuration.WithLabels("acme").Sum, 9);
        Assert.Equal(1, metrics.ProxyRequestDuration.WithLabels("globex").Count);
    }

    [Fact]
    public void RequestCompleted_SeriesSeenBefore_AllocatesNothing()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var proxy = new ControllerProxyMetrics(metrics);
        var duration = TimeSpan.FromMilliseconds(1);
        proxy.RequestCompleted("acme", ProxyOutcomes.Forwarded, duration);
        proxy.RequestCompleted("acme", ProxyOutcomes.Aborted, duration);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            proxy.RequestCompleted("acme", i % 2 == 0 ? ProxyOutcomes.Forwarded : ProxyOutcomes.Aborted, duration);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(51, metrics.ProxyRequestsTotal.WithLabels("acme", ProxyOutcomes.Forwarded).Value);
        Assert.Equal(51, metrics.ProxyRequestsTotal.WithLabels("acme", ProxyOutcomes.Aborted).Value);
    }
}
