using System.Net;

namespace SegmentController.Core.Policy.Loading;

/// <summary>
/// What the reader saw, with positions, for the cross-checks that span sections (overlaps, shared
/// VLANs and ports, references). Filled only from entries that parsed.
/// </summary>
internal sealed class PolicyFacts
{
    public List<Claim<string>> ClientIds { get; } = [];

    public List<Claim<string>> SwitchNames { get; } = [];

    /// <summary>Every place a switch is named by reference (ports, trunks, force-shut ports).</summary>
    public List<Claim<string>> SwitchReferences { get; } = [];

    public List<Claim<IPNetwork>> Subnets { get; } = [];

    public List<Claim<int>> Vlans { get; } = [];

    /// <summary>Access ports of clients and trunk ports of the infrastructure (client null).</summary>
    public List<Claim<SwitchPort>> Ports { get; } = [];

    /// <summary>Ports a client's <c>kill.force_shut_ports</c> names; they claim nothing, they are checked against <see cref="Ports"/>.</summary>
    public List<Claim<SwitchPort>> ForceShutPorts { get; } = [];

    public List<Claim<IPAddress>> ProxyAddresses { get; } = [];

    /// <summary>Agent client certificates: the switch, the CA bundle and what maps a certificate to a client.</summary>
    public ClientCertificateFacts ClientCertificates { get; } = new();

    /// <summary>The CA bundles the policy names (<c>upstream_ca</c>, <c>client_ca</c>): the key as <see cref="Claim{T}.Client"/>, the path as the value.</summary>
    public List<Claim<string>> CaBundles { get; } = [];

    /// <summary>
    /// The certificates the controller serves (<c>controller.proxy.certificate</c>, <c>controller.management.certificate</c>):
    /// the section as <see cref="Claim{T}.Client"/>; positions of the certificate file, and of the key file and password if any.
    /// </summary>
    public List<Claim<CertificateFact>> Certificates { get; } = [];

    /// <summary>Host names the proxy routes, per client.</summary>
    public List<Claim<string>> UpstreamHosts { get; } = [];
}

/// <summary>A certificate reference with the positions of its key file and password keys.</summary>
internal sealed record CertificateFact(CertificateReference Reference, Position? KeyFileAt, Position? PasswordAt);
