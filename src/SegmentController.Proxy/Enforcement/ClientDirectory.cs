using System.Net;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Enforcement;

/// <summary>The address map for the policy in force, swapped atomically on reload.</summary>
internal sealed class ClientDirectory : IDisposable
{
    private readonly IPolicyProvider _policy;
    private ClientAddressMap _map;

    public ClientDirectory(IPolicyProvider policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _map = new ClientAddressMap(policy.Current);
        policy.PolicyChanged += OnPolicyChanged;
    }

    public string? Resolve(IPAddress? address) => Volatile.Read(ref _map).Resolve(address);

    public void Dispose() => _policy.PolicyChanged -= OnPolicyChanged;

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Volatile.Write(ref _map, new ClientAddressMap(policy));
}
