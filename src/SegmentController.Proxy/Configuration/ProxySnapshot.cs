using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Enforcement;
using SegmentController.Proxy.Forwarding;

namespace SegmentController.Proxy.Configuration;

/// <summary>
/// Everything the proxy takes from one policy — routes and clusters, the source-address map, the agent
/// certificate map and the upstream trust — built together and put in force together, so no request
/// ever sees the addresses of one policy with the routes or trust of another.
/// </summary>
internal sealed class ProxySnapshot : IDisposable
{
    private readonly ConcurrentDictionary<string, ClientRedactor> _redactors = new(StringComparer.Ordinal);

    private ProxySnapshot(SitePolicy policy, ClientAddressMap addresses, ClientCertificateMap certificates, PolicyProxyConfig config, X509ChainPolicy? upstreamTrust)
    {
        Policy = policy;
        Addresses = addresses;
        Certificates = certificates;
        Config = config;
        UpstreamTrust = upstreamTrust;
    }

    public SitePolicy Policy { get; }

    public ClientAddressMap Addresses { get; }

    public ClientCertificateMap Certificates { get; }

    /// <summary>What <paramref name="client"/> may read of a record that names other clients too, under this policy (built once per client).</summary>
    public ClientRedactor RedactorFor(string client) => _redactors.GetOrAdd(client, static (id, policy) => new ClientRedactor(id, [], policy), Policy);

    /// <summary>The routes and clusters YARP serves from this policy.</summary>
    public PolicyProxyConfig Config { get; }

    /// <summary>The cluster of this policy with that id, or null when it has none.</summary>
    public Yarp.ReverseProxy.Configuration.ClusterConfig? Cluster(string clusterId)
    {
        foreach (var cluster in Config.Clusters)
        {
            if (string.Equals(cluster.ClusterId, clusterId, StringComparison.Ordinal))
            {
                return cluster;
            }
        }

        return null;
    }

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
    private static string? ClientOf(Yarp.ReverseProxy.Configuration.ClusterConfig cluster) =>
        cluster.Metadata is not null && cluster.Metadata.TryGetValue(ProxyMetadata.Client, out var client) ? client : null;

    /// <summary>The cluster's destination addresses, in order, joined: equal when the cluster sends to the same places.</summary>
    private static string DestinationsOf(Yarp.ReverseProxy.Configuration.ClusterConfig cluster) =>
        string.Join(' ', (cluster.Destinations ?? new Dictionary<string, Yarp.ReverseProxy.Configuration.DestinationConfig>())
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
