using SegmentController.Core.Policy;
using Yarp.ReverseProxy.Configuration;

namespace SegmentController.Proxy.Configuration;

/// <summary>
/// Feeds YARP from the policy in force. A new policy swaps the whole configuration at once; a policy
/// whose upstreams cannot be turned into routes keeps the last good configuration.
/// </summary>
internal sealed class PolicyProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    private readonly IPolicyProvider _policy;
    private readonly Lock _lock = new();
    private PolicyProxyConfig _config;

    public PolicyProxyConfigProvider(IPolicyProvider policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        var (routes, clusters, errors) = ProxyConfigBuilder.Build(policy.Current);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("proxy configuration invalid: " + string.Join("; ", errors));
        }

        _config = new PolicyProxyConfig(routes, clusters, policy.Current.Sha256);
        policy.PolicyChanged += OnPolicyChanged;
    }

    /// <summary>The errors of the last policy that was refused, if the last change was refused.</summary>
    public IReadOnlyList<string> LastErrors { get; private set; } = [];

    public IProxyConfig GetConfig() => Volatile.Read(ref _config);

    /// <summary>Rebuilds from a policy; returns the errors (empty when applied).</summary>
    public IReadOnlyList<string> Apply(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var (routes, clusters, errors) = ProxyConfigBuilder.Build(policy);
        lock (_lock)
        {
            LastErrors = errors;
            if (errors.Count > 0)
            {
                return errors;
            }

            var old = _config;
            Volatile.Write(ref _config, new PolicyProxyConfig(routes, clusters, policy.Sha256));
            old.SignalChanged();
            return [];
        }
    }

    public void Dispose()
    {
        _policy.PolicyChanged -= OnPolicyChanged;
        _config.Dispose();
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Apply(policy);
}
