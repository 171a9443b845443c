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
    private readonly Http10Upstreams? _http10;
    private readonly ConcurrentDictionary<string, ClientUpstreamHandler> _byCluster = new(StringComparer.Ordinal);

    // What each cluster's client was made with: a reload that changes none of it keeps the client, and its
    // warm connections, as YARP's own factory does.
    private readonly ConcurrentDictionary<string, Made> _made = new(StringComparer.Ordinal);

    // Handlers a reload replaced. YARP asks for a new client for every cluster at each reload, and the
    // requests already under way (uploads, downloads, WebSockets) go on over the old one's sockets: a trip
    // must reset those too. Held weakly: once no request holds a replaced handler, it and its pool go.
    private readonly ConcurrentDictionary<WeakReference<ClientUpstreamHandler>, byte> _replaced = new();

    public UpstreamPools(ProxySnapshots snapshots, ISuspensionView suspensions, Http10Upstreams? http10 = null)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(suspensions);
        _snapshots = snapshots;
        _suspensions = suspensions;
        _http10 = http10;
        if (http10 is not null)
        {
            http10.Learned += clusterId =>
            {
                if (_byCluster.TryGetValue(clusterId, out var handler))
                {
                    handler.RetirePool();
                }
            };
        }
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
        if (Reusable(context, client, trust) is { } kept)
        {
            return kept;
        }

        var handler = new ClientUpstreamHandler(client, () => CreateSocketsHandler(trust), c => _suspensions.Current.IsSuspended(c), context.ClusterId, _http10);
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
        var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        _made[context.ClusterId] = new Made(invoker, handler, trust);
        return invoker;
    }

    /// <summary>
    /// The cluster's client in force, when a reload changed nothing it was made with: the same handler is
    /// still the cluster's, for the same client, with the same HTTP client settings and the same upstream
    /// trust. Null when a new one must be made. A cluster whose destinations changed keeps its client here
    /// and has its pool reset by <see cref="Reattribute"/>.
    /// </summary>
    private HttpMessageInvoker? Reusable(ForwarderHttpClientContext context, string client, X509ChainPolicy? trust)
    {
        if (context.OldClient is null
            || !_made.TryGetValue(context.ClusterId, out var made)
            || !ReferenceEquals(made.Invoker, context.OldClient)
            || !_byCluster.TryGetValue(context.ClusterId, out var current)
            || !ReferenceEquals(current, made.Handler)
            || !string.Equals(current.Client, client, StringComparison.Ordinal)
            || context.OldConfig != context.NewConfig
            || !SameTrust(made.Trust, trust))
        {
            return null;
        }

        return made.Invoker;
    }

    /// <summary>True when both trust the same certificates the same way (both the system store, or the same bundle).</summary>
    private static bool SameTrust(X509ChainPolicy? a, X509ChainPolicy? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        return a.TrustMode == b.TrustMode
            && a.RevocationMode == b.RevocationMode
            && a.CustomTrustStore.Select(c => c.Thumbprint).Order(StringComparer.Ordinal)
                .SequenceEqual(b.CustomTrustStore.Select(c => c.Thumbprint).Order(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    private sealed record Made(HttpMessageInvoker Invoker, ClientUpstreamHandler Handler, X509ChainPolicy? Trust);

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
                _made.TryRemove(clusterId, out _);
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
