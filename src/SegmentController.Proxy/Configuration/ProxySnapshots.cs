using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Configuration;

/// <summary>
/// The proxy's <see cref="ProxySnapshot"/> in force. A new policy is built whole and swapped in with one
/// write; a policy any part of which cannot be built (an <c>http://</c> destination, an upstream without
/// hosts, an unreadable upstream CA bundle) changes nothing: routes, address map, certificate map and
/// upstream trust all stay those of the last good policy.
/// </summary>
/// <remarks>Readers take <see cref="Current"/> once and use that one snapshot for the whole decision.</remarks>
internal sealed class ProxySnapshots : IDisposable
{
    private readonly IPolicyProvider _policy;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private ProxySnapshot _current;

    /// <exception cref="InvalidOperationException">The policy in force cannot be turned into a proxy configuration.</exception>
    public ProxySnapshots(IPolicyProvider policy, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _time = time ?? TimeProvider.System;
        var (snapshot, errors) = ProxySnapshot.Build(policy.Current, _time);
        _current = snapshot ?? throw new InvalidOperationException("proxy configuration invalid: " + string.Join("; ", errors));
        policy.PolicyChanged += OnPolicyChanged;
    }

    public ProxySnapshot Current => Volatile.Read(ref _current);

    /// <summary>
    /// Raised with the replaced snapshot and the new one after a new snapshot is in force and YARP was told
    /// (so its routes are the new ones), under the lock that orders reloads: what was admitted under the
    /// old policy is judged again under the new one here. Handlers only look and queue work.
    /// </summary>
    public event Action<ProxySnapshot, ProxySnapshot>? Applied;

    /// <summary>Why the last policy offered was refused; empty when it was put in force.</summary>
    public IReadOnlyList<string> LastErrors { get; private set; } = [];

    /// <summary>Builds a snapshot from a policy and puts it in force; returns the errors (empty when applied).</summary>
    public IReadOnlyList<string> Apply(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var (snapshot, errors) = ProxySnapshot.Build(policy, _time);
        lock (_lock)
        {
            LastErrors = errors;
            if (snapshot is null)
            {
                return errors;
            }

            var old = _current;
            Volatile.Write(ref _current, snapshot);

            // YARP reloads its routes when the configuration it holds says it changed.
            old.Config.SignalChanged();
            Applied?.Invoke(old, snapshot);
            return [];
        }
    }

    public void Dispose()
    {
        _policy.PolicyChanged -= OnPolicyChanged;
        Current.Dispose();
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Apply(policy);
}
