namespace SegmentController.Core.Suspension;

/// <summary>Ports of one switch owed a bring-up, with the agent the switch had when they were shut.</summary>
public sealed record OwedSwitchPorts
{
    /// <summary>The switch's name in the policy.</summary>
    public required string Switch { get; init; }

    /// <summary>
    /// The switch's SNMP agent (<c>address:port</c>) when its ports were shut: a switch the policy has since moved
    /// to another agent is another switch, none of whose ports this controller shut.
    /// </summary>
    public required string Agent { get; init; }

    /// <summary>Port names as the policy gives them.</summary>
    public required IReadOnlyList<string> Ports { get; init; }
}
