using System.Security.Cryptography.X509Certificates;
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

    /// <summary>The routes and clusters YARP serves from this policy.</summary>
    public PolicyProxyConfig Config { get; }

    /// <summary>Trust for upstream certificates: the policy's CA bundle alone, or null for the system store.</summary>
    public X509ChainPolicy? UpstreamTrust { get; }

    /// <summary>Builds a snapshot, or reports every reason it cannot be built (then nothing of it may be used).</summary>
    public static (ProxySnapshot? Snapshot, IReadOnlyList<string> Errors) Build(SitePolicy policy, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(time);
        var (routes, clusters, routeErrors) = ProxyConfigBuilder.Build(policy);
        var errors = new List<string>(routeErrors);
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

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var snapshot = new ProxySnapshot(
            policy,
            new ClientAddressMap(policy),
            new ClientCertificateMap(policy, time),
            new PolicyProxyConfig(routes, clusters, policy.Sha256),
            trust);
        return (snapshot, []);
    }

    public void Dispose() => Config.Dispose();
}
