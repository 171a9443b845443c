using System.Collections.Concurrent;
using Prometheus;
using SegmentController.Metrics;

namespace SegmentController.Proxy;

/// <summary>
/// Counts proxy requests in <c>segctl_proxy_requests_total{client,outcome}</c>, times them in
/// <c>segctl_proxy_request_duration_seconds{client}</c>, and counts the connections the gate dropped in
/// <c>segctl_proxy_connections_refused_total{client}</c>.
/// </summary>
/// <remarks>
/// Every request ends here, so each client's series are looked up once and kept: prometheus-net's own
/// lookup takes the label values as a new array and hashes them on every call. The series kept are those
/// the metrics have anyway (a client of the policy, or <c>unknown</c>, by one of the proxy's outcomes), and
/// none of them is ever removed from the registry.
/// </remarks>
internal sealed class ControllerProxyMetrics(ControllerMetrics metrics) : IProxyMetrics
{
    private readonly ConcurrentDictionary<string, ClientSeries> _clients = new(StringComparer.Ordinal);

    public void RequestCompleted(string client, string outcome, TimeSpan duration)
    {
        var series = Series(client);
        series.Requests(outcome).Inc();
        series.Duration.Observe(duration.TotalSeconds);
    }

    public void ConnectionRefused(string client) => metrics.ProxyConnectionsRefusedTotal.WithLabels(client).Inc();

    private ClientSeries Series(string client) =>
        _clients.GetOrAdd(client, static (client, metrics) => new ClientSeries(metrics, client), metrics);

    private sealed class ClientSeries(ControllerMetrics metrics, string client)
    {
        private readonly ConcurrentDictionary<string, Counter.Child> _requests = new(StringComparer.Ordinal);

        public Histogram.Child Duration { get; } = metrics.ProxyRequestDuration.WithLabels(client);

        public Counter.Child Requests(string outcome) =>
            _requests.GetOrAdd(outcome, static (outcome, series) => series.Total.WithLabels(series.Client, outcome), (Total: metrics.ProxyRequestsTotal, Client: client));
    }
}
