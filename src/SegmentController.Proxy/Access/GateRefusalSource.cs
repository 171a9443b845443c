namespace SegmentController.Proxy.Access;

/// <summary>One source of a <see cref="GateRefusalRecord"/> and how many of its connections were dropped.</summary>
internal sealed record GateRefusalSource
{
    public required string Source { get; init; }

    public required long Connections { get; init; }
}
