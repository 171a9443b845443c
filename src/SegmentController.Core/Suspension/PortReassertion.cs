namespace SegmentController.Core.Suspension;

/// <summary>
/// A suspension's switch ports shut again after its trip: at a controller start (someone may have brought
/// a port up while no controller was watching), when a policy reload gave the suspended client ports its
/// trip never shut, or on a retry of ports an earlier shut did not read back down (recorded only when the
/// retry read at least one of them back down). Kept in the suspension's record.
/// </summary>
public sealed record PortReassertion
{
    /// <summary>When the ports were shut again.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>How long shutting and reading back took.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>True when every port read back down.</summary>
    public required bool Verified { get; init; }

    /// <summary>Why the ports were shut again (a record written before this was kept: a start).</summary>
    public PortReassertionCause Cause { get; init; } = PortReassertionCause.Start;

    /// <summary>The clients whose ports were shut.</summary>
    public IReadOnlyList<string> Clients { get; init; } = [];

    /// <summary>The ports shut, as <c>switch:port</c>.</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];

    /// <summary>Ports that failed, as <c>switch:port: reason</c> (or why nothing could be done).</summary>
    public IReadOnlyList<string> Failures { get; init; } = [];
}
