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
    /// Which tag of a stacked frame names the segment that sent it, on a site that runs QinQ: every rule that
    /// attributes a frame to a segment reads that tag's VLAN. <see cref="Policy.SegmentTag.Outer"/> only
    /// with <see cref="QinQ"/>.
    /// </summary>
    public SegmentTag SegmentTag { get; init; } = SegmentTag.Inner;

    /// <summary>
    /// Where <c>segctl run</c> writes the first frames of each violating flow as a small pcap; null for
    /// <c>evidence/</c> beside the store's database file.
    /// </summary>
    public string? EvidenceDirectory { get; init; }

    /// <summary>The most evidence pcaps may hold in <see cref="EvidenceDirectory"/>, in MiB.</summary>
    public int EvidenceMaxMiB { get; init; } = 1024;

    /// <summary>
    /// IPv4 → MAC bindings the capture remembers for <c>arp-spoofing</c>, split into one share per client
    /// VLAN and a shared remainder: a site whose client VLANs hold more live hosts than this loses
    /// verification of its largest VLANs.
    /// </summary>
    public int ArpBindings { get; init; } = DefaultArpBindings;

    /// <summary>The default of <see cref="ArpBindings"/>.</summary>
    public const int DefaultArpBindings = 65_536;

    /// <summary>The fewest <see cref="ArpBindings"/> a policy may give.</summary>
    public const int MinArpBindings = 1_024;

    /// <summary>The most <see cref="ArpBindings"/> a policy may give (about 320 MiB per capture interface).</summary>
    public const int MaxArpBindings = 4_194_304;
}
