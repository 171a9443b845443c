using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace SegmentController.Proxy.Configuration;

/// <summary>One immutable snapshot of routes and clusters; its token fires when a newer one replaces it.</summary>
internal sealed class PolicyProxyConfig : IProxyConfig, IDisposable
{
    private readonly CancellationTokenSource _changed = new();

    public PolicyProxyConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, string revision)
    {
        Routes = routes;
        Clusters = clusters;
        RevisionId = revision;
        ChangeToken = new CancellationChangeToken(_changed.Token);
    }

    public IReadOnlyList<RouteConfig> Routes { get; }

    public IReadOnlyList<ClusterConfig> Clusters { get; }

    public IChangeToken ChangeToken { get; }

    public string RevisionId { get; }

    public void SignalChanged() => _changed.Cancel();

    public void Dispose() => _changed.Dispose();
}
