using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Enforcement;
using SegmentController.Proxy.Forwarding;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace SegmentController.Proxy.Configuration;

/// <summary>
/// Everything the proxy takes from one policy — routes and clusters, the source-address map, the agent
/// certificate map and the upstream trust — built together and put in force together, so no request
/// ever sees the addresses of one policy with the routes or trust of another.
/// </summary>
internal sealed class ProxySnapshot : IDisposable
{
    private readonly ConcurrentDictionary<string, ClientRedactor> _redactors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RouteConfig> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClusterConfig> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _destinations = new(StringComparer.Ordinal);

    private ProxySnapshot(SitePolicy policy, ClientAddressMap addresses, ClientCertificateMap certificates, PolicyProxyConfig config, X509ChainPolicy? upstreamTrust)
    {
        Policy = policy;
        Addresses = addresses;
        Certificates = certificates;
        Config = config;
        UpstreamTrust = upstreamTrust;
        foreach (var route in config.Routes)
        {
            _routes.TryAdd(route.RouteId, route);
        }

        foreach (var cluster in config.Clusters)
        {
            if (_clusters.TryAdd(cluster.ClusterId, cluster))
            {
                _destinations[cluster.ClusterId] = (cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
                    .Select(d => d.Value.Address).ToHashSet(StringComparer.Ordinal);
            }
        }
    }

    public SitePolicy Policy { get; }

    public ClientAddressMap Addresses { get; }

    public ClientCertificateMap Certificates { get; }

    /// <summary>What <paramref name="client"/> may read of a record that names other clients too, under this policy (built once per client).</summary>
    public ClientRedactor RedactorFor(string client) => _redactors.GetOrAdd(client, static (id, policy) => new ClientRedactor(id, [], policy), Policy);

    /// <summary>The routes and clusters YARP serves from this policy.</summary>
    public PolicyProxyConfig Config { get; }

    /// <summary>The cluster of this policy with that id, or null when it has none.</summary>
    public ClusterConfig? Cluster(string clusterId) => _clusters.GetValueOrDefault(clusterId);

    /// <summary>
    /// True when a route YARP matched may forward a request of <paramref name="client"/> under this policy: the
    /// route is one of this policy's (the same id, match and cluster), its cluster is <paramref name="client"/>'s
    /// here, and every destination it may send to is one of that cluster's. A route matched by the table of a
    /// policy since replaced can fail this; <paramref name="otherClient"/> then names the other client, if any,
    /// to whom this policy gives the route's cluster or one of those destinations (the same scheme, host and port).
    /// </summary>
    public bool ServesRoute(RouteConfig route, IReadOnlyList<DestinationState> destinations, string client, out string? otherClient)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(destinations);
        otherClient = null;
        var cluster = route.ClusterId is { } clusterId ? Cluster(clusterId) : null;
        var owner = cluster is null ? null : ClientOf(cluster);
        var serves = string.Equals(owner, client, StringComparison.Ordinal)
            && _routes.TryGetValue(route.RouteId, out var own) && (ReferenceEquals(own, route) || own.Equals(route));
        if (owner is not null && !string.Equals(owner, client, StringComparison.Ordinal))
        {
            otherClient = owner;
        }

        var ownDestinations = cluster is null ? null : _destinations[cluster.ClusterId];
        for (var i = 0; i < destinations.Count; i++)
        {
            var address = destinations[i].Model.Config.Address;
            if (ownDestinations is not null && ownDestinations.Contains(address))
            {
                continue;
            }

            serves = false;
            otherClient ??= OtherOwnerOf(address, client);
        }

        return serves;
    }

    /// <summary>The first client other than <paramref name="client"/> with an upstream on the server of <paramref name="address"/> (scheme, host and port).</summary>
    private string? OtherOwnerOf(string address, string client)
    {
        if (ServerOf(address) is not { } server)
        {
            return null;
        }

        foreach (var cluster in Config.Clusters)
        {
            if (ClientOf(cluster) is { } owner && !string.Equals(owner, client, StringComparison.Ordinal)
                && cluster.Destinations is { } destinations
                && destinations.Values.Any(d => string.Equals(ServerOf(d.Address), server, StringComparison.Ordinal)))
            {
                return owner;
            }
        }

        return null;
    }

    private static string? ServerOf(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.Scheme | UriComponents.Host | UriComponents.StrongPort, UriFormat.UriEscaped).ToLowerInvariant()
            : null;

    /// <summary>
    /// True when a request of <paramref name="client"/> from <paramref name="source"/> admitted under
    /// <paramref name="admitted"/> (on cluster <paramref name="clusterId"/>, null before a route matched)
    /// may go on under this policy: the source is still that client's, and the cluster still exists,
    /// still belongs to that client and still sends to the same destinations.
    /// </summary>
    public bool StillAdmits(ProxySnapshot admitted, string client, System.Net.IPAddress? source, string? clusterId)
    {
        ArgumentNullException.ThrowIfNull(admitted);
        if (!string.Equals(Addresses.Resolve(source), client, StringComparison.Ordinal))
        {
            return false;
        }

        return clusterId is null || KeepsCluster(admitted, clusterId, client);
    }

    /// <summary>
    /// True when cluster <paramref name="clusterId"/> of <paramref name="admitted"/> is still, under this
    /// policy, <paramref name="client"/>'s and sends to the same destinations: it exists in both, belongs to
    /// that client in both, and its destinations did not change.
    /// </summary>
    public bool KeepsCluster(ProxySnapshot admitted, string clusterId, string client)
    {
        ArgumentNullException.ThrowIfNull(admitted);
        var before = admitted.Cluster(clusterId);
        var now = Cluster(clusterId);
        return before is not null && now is not null
            && string.Equals(ClientOf(before), client, StringComparison.Ordinal)
            && string.Equals(ClientOf(now), client, StringComparison.Ordinal)
            && string.Equals(DestinationsOf(before), DestinationsOf(now), StringComparison.Ordinal);
    }

    /// <summary>The client a cluster belongs to (its metadata), or null.</summary>
    private static string? ClientOf(ClusterConfig cluster) =>
        cluster.Metadata is not null && cluster.Metadata.TryGetValue(ProxyMetadata.Client, out var client) ? client : null;

    /// <summary>The cluster's destination addresses, in order, joined: equal when the cluster sends to the same places.</summary>
    private static string DestinationsOf(ClusterConfig cluster) =>
        string.Join(' ', (cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
            .Select(d => d.Value.Address).Order(StringComparer.Ordinal));

    /// <summary>Trust for upstream certificates: the policy's CA bundle alone, or null for the system store.</summary>
    public X509ChainPolicy? UpstreamTrust { get; }

    /// <summary>
    /// Builds a snapshot, or reports every reason it cannot be built (then nothing of it may be used): routes
    /// or clusters that cannot be made from the policy or that YARP's own validation refuses
    /// (<paramref name="validation"/>), an upstream CA bundle that cannot be read, or agent certificates
    /// required with a client CA bundle that cannot be read.
    /// </summary>
    public static (ProxySnapshot? Snapshot, IReadOnlyList<string> Errors) Build(SitePolicy policy, TimeProvider time, ProxyConfigValidation? validation = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(time);
        var (routes, clusters, routeErrors) = ProxyConfigBuilder.Build(policy);
        var errors = new List<string>(routeErrors);
        if (validation is not null)
        {
            errors.AddRange(validation.Validate(routes, clusters));
        }

        X509ChainPolicy? trust = null;
        if (policy.Controller.Proxy.UpstreamCaFile is { } caFile)
        {
            try
            {
                trust = UpstreamTls.CreateChainPolicy(caFile);
            }
            catch (InvalidOperationException e)
            {
                errors.Add(e.Message);
            }
        }

        // Agents' certificates required and their CA bundle unusable: every agent would be refused.
        var certificates = new ClientCertificateMap(policy, time);
        if (certificates.Required && certificates.LoadError is { } caError)
        {
            errors.Add(caError);
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var snapshot = new ProxySnapshot(
            policy,
            new ClientAddressMap(policy),
            certificates,
            new PolicyProxyConfig(routes, clusters, policy.Sha256),
            trust);
        return (snapshot, []);
    }

    public void Dispose() => Config.Dispose();
}
