namespace SegmentController.Core.Suspension;

/// <summary>
/// Switch ports a restore lifted and has not read back up yet, for one client: saved with the lift (so a
/// controller that stops before they read up brings them up at its next start), narrowed to the ports its
/// bring-up did not read back up, and dropped once they read up, the client is suspended or restored again,
/// or the policy no longer has the client or leaves its ports alone.
/// </summary>
public sealed record OwedBringUp
{
    /// <summary>
    /// The restore that owes them (its suspension without the enforcement detail): what a retry that brings
    /// them up is recorded under. Its suspension's id tells one restore from another.
    /// </summary>
    public required RestoreRecord Restore { get; init; }

    /// <summary>The ports still to bring up, by switch: only ports the controller shut for this client.</summary>
    public required IReadOnlyList<OwedSwitchPorts> Ports { get; init; }
}
