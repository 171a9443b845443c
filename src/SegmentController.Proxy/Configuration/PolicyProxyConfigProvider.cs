using Yarp.ReverseProxy.Configuration;

namespace SegmentController.Proxy.Configuration;

/// <summary>Feeds YARP the routes and clusters of the <see cref="ProxySnapshot"/> in force.</summary>
internal sealed class PolicyProxyConfigProvider(ProxySnapshots snapshots) : IProxyConfigProvider
{
    public IProxyConfig GetConfig() => snapshots.Current.Config;
}
