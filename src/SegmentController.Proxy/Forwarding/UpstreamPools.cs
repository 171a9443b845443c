using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// YARP's HTTP client factory: one connection pool per cluster, each owned by exactly one client, with
/// the outbound TLS rules and the upstream trust of the <see cref="ProxySnapshot"/> whose clusters YARP is
/// putting in force. On a trip the client's pools are dropped, those of earlier configurations that
/// requests still run on included.
/// </summary>
internal sealed class UpstreamPools : IForwarderHttpClientFactory, ISuspensionEnforcer
{
    private readonly ProxySnapshots _snapshots;
    private readonly ISuspensionView _suspensions;
    private readonly ConcurrentDictionary<string, ClientUpstreamHandler> _byCluster = new(StringComparer.Ordinal);

    // Handlers a reload replaced. YARP asks for a new client for every cluster at each reload, and the
    // requests already under way (uploads, downloads, WebSockets) go on over the old one's sockets: a trip
    // must reset those too. Held weakly: once no request holds a replaced handler, it and its pool go.
    private readonly ConcurrentDictionary<WeakReference<ClientUpstreamHandler>, byte> _replaced = new();

    public UpstreamPools(ProxySnapshots snapshots, ISuspensionView suspensions)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(suspensions);
        _snapshots = snapshots;
        _suspensions = suspensions;
    }

    public SuspensionStage Stage => SuspensionStage.UpstreamPool;

    public HttpMessageInvoker CreateClient(ForwarderHttpClientContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var client = context.NewMetadata is not null && context.NewMetadata.TryGetValue(ProxyMetadata.Client, out var id)
            ? id
            : throw new InvalidOperationException($"cluster {context.ClusterId} has no client");
        // YARP asks for clients while it applies the configuration of the snapshot just put in force.
        var trust = _snapshots.Current.UpstreamTrust;
        var handler = new ClientUpstreamHandler(client, () => CreateSocketsHandler(trust), c => _suspensions.Current.IsSuspended(c), context.ClusterId);
        ClientUpstreamHandler? replaced = null;
        _byCluster.AddOrUpdate(context.ClusterId, handler, (_, old) =>
        {
            replaced = old;
            return handler;
        });
        if (replaced is not null)
        {
            _replaced.TryAdd(new WeakReference<ClientUpstreamHandler>(replaced), 0);
        }

        Prune();

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

        // Enumerated in place (Keys would take every lock and copy): this runs inside a trip.
        foreach (var (reference, _) in _replaced)
        {
            if (reference.TryGetTarget(out var handler) && (all || string.Equals(handler.Client, scope, StringComparison.Ordinal)))
            {
                handler.DropPool();
            }
        }

        Prune();
    }

    /// <summary>
    /// A reload replaced <paramref name="replaced"/> with <paramref name="current"/>: the pools of every
    /// cluster that is gone, belongs to another client now or sends elsewhere are reset (the requests on
    /// them are cut by the in-flight stage), those of earlier configurations included. What a request
    /// admitted under the old policy had open to an upstream the new one gives another client is closed
    /// now, not left for the old owner's trip — the new owner's would not see it.
    /// </summary>
    public void Reattribute(ProxySnapshot replaced, ProxySnapshot current)
    {
        ArgumentNullException.ThrowIfNull(replaced);
        ArgumentNullException.ThrowIfNull(current);
        foreach (var (clusterId, handler) in _byCluster)
        {
            if (current.Cluster(clusterId) is null && _byCluster.TryRemove(new KeyValuePair<string, ClientUpstreamHandler>(clusterId, handler)))
            {
                // Gone from the policy: kept (weakly) for trips while a request still holds it.
                _replaced.TryAdd(new WeakReference<ClientUpstreamHandler>(handler), 0);
            }

            if (Moved(handler, replaced, current))
            {
                handler.DropPool();
            }
        }

        foreach (var (reference, _) in _replaced)
        {
            if (reference.TryGetTarget(out var handler) && Moved(handler, replaced, current))
            {
                handler.DropPool();
            }
        }

        Prune();
    }

    private static bool Moved(ClientUpstreamHandler handler, ProxySnapshot replaced, ProxySnapshot current) =>
        handler.ClusterId is { } clusterId && !current.KeepsCluster(replaced, clusterId, handler.Client);

    private void Prune()
    {
        foreach (var (reference, _) in _replaced)
        {
            if (!reference.TryGetTarget(out _))
            {
                _replaced.TryRemove(reference, out _);
            }
        }
    }

    private static SocketsHttpHandler CreateSocketsHandler(X509ChainPolicy? trust) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        ActivityHeadersPropagator = null,
        SslOptions = UpstreamTls.CreateOptions(trust),
    };
}
