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
        Summarize(await _shutdown.ShutAsync(policy.Current, clientId, cancellationToken).ConfigureAwait(false), ports);

    public async ValueTask<Core.Suspension.PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
        Summarize(await _shutdown.RestoreAsync(policy.Current, clientId, cancellationToken).ConfigureAwait(false), ports);

    public async ValueTask<Core.Suspension.PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
        Summarize(await _shutdown.ReleaseAsync(policy.Current, clientId, ports, cancellationToken).ConfigureAwait(false), ports);

    private static Core.Suspension.PortActionResult Summarize(IReadOnlyList<PortActionResult> results, IReadOnlyList<PortAssignment> asked)
    {
        ArgumentNullException.ThrowIfNull(asked);
        var wanted = asked.SelectMany(a => a.Ports.Select(p => (a.Switch, Port: p.ToUpperInvariant()))).ToHashSet();
        var failures = results
            .Where(r => wanted.Count == 0 || wanted.Contains((r.Switch, r.Port.ToUpperInvariant())))
            .Where(r => r.Outcome != PortActionOutcome.Done)
            .Select(r => $"{r.Switch}:{r.Port}: {r.Outcome.ToString().ToLowerInvariant()}: {r.Detail}")
            .ToArray();
        return new Core.Suspension.PortActionResult { Verified = failures.Length == 0, Failures = failures };
    }
}
