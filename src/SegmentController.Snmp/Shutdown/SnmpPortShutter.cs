using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Snmp.Shutdown;

/// <summary>
/// The suspension engine's <see cref="IPortShutter"/> over SNMP. A port refused for safety (trunk,
/// uplink, shared) counts as a failure: the client is not fully cut off, and the operator must see it.
/// </summary>
internal sealed class SnmpPortShutter(IPolicyProvider policy, TimeProvider time) : IPortShutter
{
    private readonly PortShutdown _shutdown = new(time);

    public async ValueTask<Core.Suspension.PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
        Summarize(await _shutdown.ShutAsync(policy.Current, clientId, cancellationToken).ConfigureAwait(false), ports, clientId);

    public async ValueTask<Core.Suspension.PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
        Summarize(await _shutdown.RestoreAsync(policy.Current, clientId, cancellationToken).ConfigureAwait(false), ports, clientId);

    public async ValueTask<Core.Suspension.PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
        Summarize(await _shutdown.ReleaseAsync(policy.Current, clientId, ports, cancellationToken).ConfigureAwait(false), ports, clientId);

    private static Core.Suspension.PortActionResult Summarize(IReadOnlyList<PortActionResult> results, IReadOnlyList<PortAssignment> asked, string clientId)
    {
        ArgumentNullException.ThrowIfNull(asked);
        var wanted = asked.SelectMany(a => a.Ports.Select(p => (a.Switch, Port: p))).DistinctBy(p => (p.Switch, p.Port.ToUpperInvariant())).ToArray();
        var keys = wanted.Select(p => (p.Switch, p.Port.ToUpperInvariant())).ToHashSet();
        var handled = results.Select(r => (r.Switch, r.Port.ToUpperInvariant())).ToHashSet();
        var failures = results
            .Where(r => keys.Count == 0 || keys.Contains((r.Switch, r.Port.ToUpperInvariant())))
            .Where(r => r.Outcome != PortActionOutcome.Done)
            .Select(r => $"{r.Switch}:{r.Port}: {r.Outcome.ToString().ToLowerInvariant()}: {r.Detail}")
            // A port asked for that the policy in force (reloaded since the engine read it) no longer gives the client
            // was not touched: silent about it, the shut would read as verified with the port still up.
            .Concat(wanted.Where(p => !handled.Contains((p.Switch, p.Port.ToUpperInvariant())))
                .Select(p => $"{p.Switch}:{p.Port}: failed: {p.Port} is not, in the policy in force, a port of client {clientId}: nothing was done to it"))
            .ToArray();
        return new Core.Suspension.PortActionResult { Verified = failures.Length == 0, Failures = failures };
    }
}
