namespace SegmentController.Proxy;

/// <summary>Where the proxy counts its requests (the host maps it to <c>segctl_proxy_requests_total</c>).</summary>
public interface IProxyMetrics
{
    /// <summary>One request finished. <paramref name="client"/> is a client id or <c>unknown</c>; <paramref name="outcome"/> one of <see cref="ProxyOutcomes"/>.</summary>
    void RequestCompleted(string client, string outcome, TimeSpan duration);

    /// <summary>The connection gate dropped a connection before TLS. <paramref name="client"/> is a client id or <c>unknown</c>.</summary>
    void ConnectionRefused(string client);
}
