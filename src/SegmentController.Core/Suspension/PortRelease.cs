namespace SegmentController.Core.Suspension;

/// <summary>
/// Switch ports a policy reload took away from a suspended client: those it gave a client that is not
/// suspended, or whose ports are not to be shut (<c>kill.shut_ports</c> off, suspended or not, the client
/// itself when the reload turned it off), were brought up and read back, those ports alone (the controller
/// undoes its own shut; nothing needs them shut); those it gave no client were left shut (whatever is plugged into a port no client owns stays off until someone who knows gives
/// it one). A port it gave another suspended client is not here: it stays shut under that client's
/// suspension (a <see cref="PortReassertion"/> with <see cref="PortReassertionCause.PolicyReload"/>).
/// Kept in the record of the suspension that had shut the ports.
/// </summary>
public sealed record PortRelease
{
    /// <summary>When the ports were released (brought up, or found to be left shut).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>The client the ports were taken away from.</summary>
    public required string From { get; init; }

    /// <summary>
    /// Ports brought up, as <c>switch:port</c>. Not who has them now: the release is on the record of the
    /// suspension that had shut them, under its client's key and in full into that client's evidence export,
    /// which names no other client (the policy in force says who has them; the site's log line names it).
    /// </summary>
    public IReadOnlyList<string> BroughtUp { get; init; } = [];

    /// <summary>Ports left shut because the reload gave them to no client, as <c>switch:port</c>.</summary>
    public IReadOnlyList<string> LeftShut { get; init; } = [];

    /// <summary>True when every port brought up read back up.</summary>
    public required bool Verified { get; init; }

    /// <summary>
    /// Ports that failed to come up, as <c>switch:port: reason</c> (ports joined by ", " when the failure is
    /// theirs together); the reason names no client but the one the ports were taken from.
    /// </summary>
    public IReadOnlyList<string> Failures { get; init; } = [];
}
