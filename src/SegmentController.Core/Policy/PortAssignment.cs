namespace SegmentController.Core.Policy;

/// <summary>Ports of one switch, already expanded from ranges (<c>Gi1/0/1-12</c>).</summary>
public sealed record PortAssignment
{
    /// <summary>The switch's name in the policy.</summary>
    public required string Switch { get; init; }

    /// <summary>Port names as the switch reports them in ifName.</summary>
    public required IReadOnlyList<string> Ports { get; init; }
}
