using SegmentController.Core.Policy;

namespace SegmentController.Core.Suspension;

/// <summary>
/// Shuts and re-opens switch ports (implemented over SNMP: ifAdminStatus SET, then read back). The
/// implementation refuses infrastructure ports (trunks, uplinks) unless they are in the client's
/// <see cref="KillActions.ForceShutPorts"/>.
/// </summary>
public interface IPortShutter
{
    /// <summary>Sets the ports administratively down and reads them back.</summary>
    ValueTask<PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken);

    /// <summary>Sets the ports administratively up and reads them back.</summary>
    ValueTask<PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken);

    /// <summary>
    /// Sets exactly <paramref name="ports"/> of the client administratively up and reads them back, whatever
    /// its <see cref="KillActions.ShutPorts"/>: ports this controller shut for a suspension that a policy reload
    /// gave this client, which nothing needs shut any more. The controller undoes its own shut; a client with
    /// shut_ports off never has a port left shut by it.
    /// </summary>
    ValueTask<PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken);
}
