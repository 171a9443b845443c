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

    /// <summary>
    /// Where <c>segctl run</c> writes the first frames of each violating flow as a small pcap; null for
    /// <c>evidence/</c> beside the store's database file.
    /// </summary>
    public string? EvidenceDirectory { get; init; }

    /// <summary>The most evidence pcaps may hold in <see cref="EvidenceDirectory"/>, in MiB.</summary>
    public int EvidenceMaxMiB { get; init; } = 1024;
}
