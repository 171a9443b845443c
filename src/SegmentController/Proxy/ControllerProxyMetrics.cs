using SegmentController.Metrics;
using SegmentController.Proxy;

namespace SegmentController.Proxy;

/// <summary>Counts proxy requests in <c>segctl_proxy_requests_total{client,outcome}</c>.</summary>
internal sealed class ControllerProxyMetrics(ControllerMetrics metrics) : IProxyMetrics
{
    public void RequestCompleted(string client, string outcome, TimeSpan duration) =>
        metrics.ProxyRequestsTotal.WithLabels(client, outcome).Inc();
}
