using SegmentController.Metrics;

namespace SegmentController.Proxy;

/// <summary>
/// Counts proxy requests in <c>segctl_proxy_requests_total{client,outcome}</c>, times them in
/// <c>segctl_proxy_request_duration_seconds{client}</c>, and counts the connections the gate dropped in
/// <c>segctl_proxy_connections_refused_total{client}</c>.
/// </summary>
internal sealed class ControllerProxyMetrics(ControllerMetrics metrics) : IProxyMetrics
{
    public void RequestCompleted(string client, string outcome, TimeSpan duration)
    {
        metrics.ProxyRequestsTotal.WithLabels(client, outcome).Inc();
        metrics.ProxyRequestDuration.WithLabels(client).Observe(duration.TotalSeconds);
    }

    public void ConnectionRefused(string client) => metrics.ProxyConnectionsRefusedTotal.WithLabels(client).Inc();
}
