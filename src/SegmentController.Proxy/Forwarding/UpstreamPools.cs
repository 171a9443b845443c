using System.Collections.Concurrent;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// YARP's HTTP client factory: one connection pool per cluster, each owned by exactly one client, with
/// the outbound TLS rules applied. On a trip the client's pools are dropped.
/// </summary>
internal sealed class UpstreamPools : IForwarderHttpClientFactory, ISuspensionEnforcer
{
    private readonly IPolicyProvider _policy;
    private readonly ConcurrentDictionary<string, ClientUpstreamHandler> _byCluster = new(StringComparer.Ordinal);

    public UpstreamPools(IPolicyProvider policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
    }

    public SuspensionStage Stage => SuspensionStage.UpstreamPool;

    public HttpMessageInvoker CreateClient(ForwarderHttpClientContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var client = context.NewMetadata is not null && context.NewMetadata.TryGetValue(ProxyMetadata.Client, out var id)
            ? id
            : throw new InvalidOperationException($"cluster {context.ClusterId} has no client");
        var caFile = _policy.Current.Controller.Proxy.UpstreamCaFile;
        var handler = new ClientUpstreamHandler(client, () => CreateSocketsHandler(caFile));
        _byCluster[context.ClusterId] = handler;

        // The old client may still carry requests being forwarded; YARP lets them finish on it.
        return new HttpMessageInvoker(handler, disposeHandler: false);
    }

    public void Enforce(string scope)
    {
        var all = string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal);
        foreach (var handler in _byCluster.Values)
        {
            if (all || string.Equals(handler.Client, scope, StringComparison.Ordinal))
            {
                handler.DropPool();
            }
        }
    }

    private static SocketsHttpHandler CreateSocketsHandler(string? caFile) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        ActivityHeadersPropagator = null,
        SslOptions = UpstreamTls.CreateOptions(caFile),
    };
}
