using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Configuration;

/// <summary>
/// The proxy's <see cref="ProxySnapshot"/> in force. A new policy is built whole and swapped in with one
/// write; a policy any part of which cannot be built (an <c>http://</c> destination, an upstream without
/// hosts, a route YARP's validation refuses, an unreadable upstream CA bundle) changes nothing: routes,
/// address map, certificate map and upstream trust all stay those of the last good policy.
/// </summary>
/// <remarks>
/// Readers take <see cref="Current"/> once and use that one snapshot for the whole decision. Where the policy
/// is reloaded from its file (<see cref="PolicyProvider"/>) the build is one of the policy's admission checks:
/// a policy the proxy cannot serve is refused by the controller as a whole, before the suspension engine,
/// capture or SNMP take it, and the snapshot built for the check is the one put in force.
/// </remarks>
internal sealed partial class ProxySnapshots : IDisposable
{
    private readonly IPolicyProvider _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProxyConfigValidation _validation = new();
    private readonly Lock _lock = new();
    private ProxySnapshot _current;
    private (SitePolicy Policy, ProxySnapshot Snapshot)? _admitted;
    private bool _disposed;

    /// <exception cref="InvalidOperationException">The policy in force cannot be turned into a proxy configuration.</exception>
    public ProxySnapshots(IPolicyProvider policy, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        var (snapshot, errors) = ProxySnapshot.Build(policy.Current, _time, _validation);
        if (snapshot is null)
        {
            _validation.Dispose();
            throw new InvalidOperationException($"the proxy cannot serve the policy {policy.Current.SourcePath}: " + string.Join("; ", errors));
        }

        _current = snapshot;
        if (policy is PolicyProvider reloadable)
        {
            reloadable.AddAdmission(Admit);
        }

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

    /// <summary>
    /// Builds a snapshot from a policy (or takes the one its admission check built) and puts it in force;
    /// returns the errors, each logged (empty when applied).
    /// </summary>
    public IReadOnlyList<string> Apply(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ProxySnapshot? snapshot = null;
        lock (_lock)
        {
            if (_admitted is { } admitted && ReferenceEquals(admitted.Policy, policy))
            {
                snapshot = admitted.Snapshot;
                _admitted = null;
            }
        }

        IReadOnlyList<string> errors = [];
        if (snapshot is null)
        {
            (snapshot, errors) = ProxySnapshot.Build(policy, _time, _validation);
        }

        lock (_lock)
        {
            LastErrors = errors;
            if (snapshot is null)
            {
                // Reached when the policy came without the admission check (a provider that does not offer
                // one) or a file it names changed after the check: the proxy keeps the last good policy
                // while the rest of the controller may run the new one. Said loudly.
                Log.Refused(_logger, policy.Sha256, Current.Policy.Sha256, errors.Count);
                foreach (var error in errors)
                {
                    Log.RefusedBecause(_logger, error);
                }

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
        lock (_lock)
        {
            _disposed = true;
            _admitted?.Snapshot.Dispose();
            _admitted = null;
        }

        _policy.PolicyChanged -= OnPolicyChanged;
        Current.Dispose();
        _validation.Dispose();
    }

    /// <summary>The admission check: the reasons the proxy cannot serve <paramref name="candidate"/>, none when it can.</summary>
    private IEnumerable<string> Admit(SitePolicy candidate)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return [];
            }
        }

        var (snapshot, errors) = ProxySnapshot.Build(candidate, _time, _validation);
        lock (_lock)
        {
            // Kept for Apply, which takes it when this policy goes in force; one refused by another check
            // is dropped at the next admission.
            _admitted?.Snapshot.Dispose();
            _admitted = snapshot is null || _disposed ? null : (candidate, snapshot);
            if (snapshot is not null && _admitted is null)
            {
                snapshot.Dispose();
            }
        }

        return errors.Select(e => $"the proxy cannot serve this policy: {e}").ToArray();
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Apply(policy);

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.ConfigRejected, LogLevel.Critical, "The proxy refused policy sha256 {Refused} with {Count} error(s) and keeps serving policy sha256 {InForce}: routes, agent addresses, certificates and upstream trust are those of the last policy it could serve")]
        public static partial void Refused(ILogger logger, string refused, string inForce, int count);

        [LoggerMessage(ProxyEventIds.ConfigRejected, LogLevel.Critical, "The proxy refused the policy: {Error}")]
        public static partial void RefusedBecause(ILogger logger, string error);
    }
}
