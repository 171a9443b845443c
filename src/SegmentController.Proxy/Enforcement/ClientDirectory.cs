using System.Net;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Proxy.Configuration;

namespace SegmentController.Proxy.Enforcement;

/// <summary>Who an agent is, by the address map and certificate map of the <see cref="ProxySnapshot"/> in force.</summary>
internal sealed class ClientDirectory(ProxySnapshots snapshots)
{
    /// <summary>The snapshot in force: take it once per decision so both maps come from one policy.</summary>
    public ProxySnapshot Current => snapshots.Current;

    /// <summary>True when agents must present a certificate of their own client.</summary>
    public bool RequiresClientCertificate => snapshots.Current.Certificates.Required;

    /// <summary>Why the client CA bundle of the policy in force is unusable; null when it is fine or not needed.</summary>
    public string? ClientCaError => snapshots.Current.Certificates.LoadError;

    public string? Resolve(IPAddress? address) => snapshots.Current.Addresses.Resolve(address);

    /// <summary>Describes an agent's certificate and maps it to its client (see <see cref="ClientCertificateMap"/>).</summary>
    public AgentIdentity Identify(X509Certificate2? certificate) => snapshots.Current.Certificates.Identify(certificate);
}
