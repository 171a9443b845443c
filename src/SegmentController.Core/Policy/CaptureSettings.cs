namespace SegmentController.Core.Policy;

/// <summary>Passive capture on mirror ports.</summary>
public sealed record CaptureSettings
{
    /// <summary>The interfaces to capture on; none disables live capture.</summary>
    public IReadOnlyList<CaptureInterface> Interfaces { get; init; } = [];

    /// <summary>Fraction of frames lost (0–1) above which capture counts as degraded.</summary>
    public double LossThreshold { get; init; } = 0.001;

    /// <summary>No frames for this long counts as degraded.</summary>
    public TimeSpan Silence { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>True when the site runs QinQ; stacked tags are then not <c>vlan-hopping</c>.</summary>
    public bool QinQ { get; init; }
}
