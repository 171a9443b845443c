using SegmentController.Core.Policy;
using Yarp.ReverseProxy.Configuration;

namespace SegmentController.Proxy.Configuration;

/// <summary>Turns a policy's client upstreams into YARP routes and clusters, one cluster per upstream.</summary>
internal static class ProxyConfigBuilder
{
    /// <summary>Builds the configuration, or reports every reason it cannot be built.</summary>
    public static (IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters, IReadOnlyList<string> Errors) Build(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var routes = new List<RouteConfig>();
        var clusters = new List<ClusterConfig>();
        var errors = new List<string>();
        foreach (var client in policy.Clients)
        {
            foreach (var upstream in client.Upstreams)
            {
                var clusterId = $"{client.Id}/{upstream.Name}";
                var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [ProxyMetadata.Client] = client.Id,
                    [ProxyMetadata.Upstream] = upstream.Name,
                };
                var destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal);
                for (var i = 0; i < upstream.Destinations.Count; i++)
                {
                    var destination = upstream.Destinations[i];
                    if (!destination.IsAbsoluteUri || !string.Equals(destination.Scheme, Uri.UriSchemeHttps, StringComparison.Ordinal))
                    {
                        errors.Add($"client {client.Id} upstream {upstream.Name}: destination {destination} is not https://");
                        continue;
                    }

                    destinations[$"d{i}"] = new DestinationConfig { Address = destination.AbsoluteUri };
                }

                if (destinations.Count == 0)
                {
                    errors.Add($"client {client.Id} upstream {upstream.Name}: no https destinations");
                    continue;
                }

                if (upstream.Hosts.Count == 0)
                {
                    errors.Add($"client {client.Id} upstream {upstream.Name}: no hosts");
                    continue;
                }

                clusters.Add(new ClusterConfig
                {
                    ClusterId = clusterId,
                    Destinations = destinations,
                    Metadata = metadata,
                    LoadBalancingPolicy = "RoundRobin",
                    HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig
                    {
                        ActivityTimeout = TimeSpan.FromSeconds(100),
                    },
                });

                for (var p = 0; p < upstream.PathPrefixes.Count; p++)
                {
                    var prefix = upstream.PathPrefixes[p].TrimEnd('/');
                    routes.Add(new RouteConfig
                    {
                        RouteId = $"{clusterId}#{p}",
                        ClusterId = clusterId,
                        Metadata = metadata,
                        Match = new RouteMatch
                        {
                            Hosts = upstream.Hosts,
                            Path = prefix + "/{**rest}",
                        },
                    });
                }
            }
        }

        return (routes, clusters, errors);
    }
}
