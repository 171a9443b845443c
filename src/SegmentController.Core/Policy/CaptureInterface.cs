namespace SegmentController.Core.Policy;

/// <summary>One mirror (SPAN) interface.</summary>
public sealed record CaptureInterface
{
    /// <summary>The OS interface name.</summary>
    public required string Name { get; init; }

    /// <summary>Bytes kept of each frame.</summary>
    public int SnapLength { get; init; } = 256;

    /// <summary>Kernel capture buffer in MiB.</summary>
    public int BufferMiB { get; init; } = 64;

    /// <summary>An optional BPF filter.</summary>
    public string? Filter { get; init; }

    /// <summary>Capture frames not addressed to this host (a mirror port needs it).</summary>
    public bool Promiscuous { get; init; } = true;
}
