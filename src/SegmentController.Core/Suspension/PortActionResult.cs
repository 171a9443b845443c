namespace SegmentController.Core.Suspension;

/// <summary>The outcome of shutting (or bringing up) a client's switch ports, after reading them back.</summary>
public sealed record PortActionResult
{
    /// <summary>True when every port was read back in the wanted state.</summary>
    public required bool Verified { get; init; }

    /// <summary>Ports that failed, as <c>switch:port: reason</c>.</summary>
    public IReadOnlyList<string> Failures { get; init; } = [];
}
