using System.Net;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Enforcement;

/// <summary>The address map and the certificate map for the policy in force, swapped atomically on reload.</summary>
internal sealed class ClientDirectory : IDisposable
{
    private readonly IPolicyProvider _policy;
    private readonly TimeProvider _time;
    private Maps _maps;

    public ClientDirectory(IPolicyProvider policy, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _time = time ?? TimeProvider.System;
        _maps = Build(policy.Current);
        policy.PolicyChanged += OnPolicyChanged;
    }

    /// <summary>True when agents must present a certificate of their own client.</summary>
    public bool RequiresClientCertificate => Volatile.Read(ref _maps).Certificates.Required;

    /// <summary>Why the client CA bundle of the policy in force is unusable; null when it is fine or not needed.</summary>
    public string? ClientCaError => Volatile.Read(ref _maps).Certificates.LoadError;

    public string? Resolve(IPAddress? address) => Volatile.Read(ref _maps).Addresses.Resolve(address);

    /// <summary>Describes an agent's certificate and maps it to its client (see <see cref="ClientCertificateMap"/>).</summary>
    public AgentIdentity Identify(X509Certificate2? certificate) => Volatile.Read(ref _maps).Certificates.Identify(certificate);

    public void Dispose() => _policy.PolicyChanged -= OnPolicyChanged;

    private Maps Build(SitePolicy policy) => new(new ClientAddressMap(policy), new ClientCertificateMap(policy, _time));

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Volatile.Write(ref _maps, Build(policy));

    // One object so a reader never pairs the addresses of one policy with the certificates of another.
    private sealed record Maps(ClientAddressMap Addresses, ClientCertificateMap Certificates);
}
