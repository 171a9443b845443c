namespace SegmentController.Capture.Rules;

/// <summary>
/// A period in which capture could not be trusted: loss above threshold, silence, more violations than
/// the analyzer tracks one by one, or ARP claims it cannot remember. One event per episode; its counts
/// and end move while it lasts.
/// Changed and read under the analyzer's report lock.
/// </summary>
internal sealed class DegradedEvent(string @interface, string reason, long firstTicks)
{
    public const string Loss = "loss";
    public const string Silence = "silence";
    public const string Overflow = "overflow";
    public const string ArpOverflow = "arp-overflow";

    /// <summary>Unique within its analyzer (the finding's key across updates).</summary>
    public long Id { get; init; }

    public string Interface { get; } = @interface;

    /// <summary><see cref="Loss"/>, <see cref="Silence"/>, <see cref="Overflow"/> or <see cref="ArpOverflow"/>.</summary>
    public string Reason { get; } = reason;

    public long FirstTicks { get; } = firstTicks;

    public long LastTicks { get; set; } = firstTicks;

    /// <summary>Loss: frames the kernel passed during the episode.</summary>
    public long Received { get; set; }

    /// <summary>Loss: frames dropped during the episode.</summary>
    public long Dropped { get; set; }

    public double LossFraction => Received == 0 ? 0 : (double)Dropped / Math.Max(Received, Dropped);

    /// <summary>
    /// Overflow: violating flows folded into aggregates during the episode. ARP overflow: ARP claims of
    /// new addresses not remembered (so not checked later) during the episode.
    /// </summary>
    public long Suppressed { get; set; }

    /// <summary>
    /// The clients whose verification the episode concerns; empty when it concerns the whole site (loss,
    /// silence, an ARP overflow of the shared remainder, a violation overflow that folded a flow naming no
    /// client).
    /// </summary>
    public IReadOnlyList<string> Clients { get; set; } = [];

    /// <summary>
    /// ARP overflow: bindings of live hosts the policy names given up to make room during the episode (a share
    /// holding more than its size after a reload): a different MAC claiming one of those addresses before its
    /// host claims it again is bound fresh, not found spoofing.
    /// </summary>
    public long BindingsLost { get; set; }

    /// <summary>
    /// ARP overflow: the VLAN whose share overflowed, or for the shared remainder the VLAN of the first claim
    /// it refused (0: untagged).
    /// </summary>
    public int Vlan { get; init; }

    /// <summary>ARP overflow: the shared remainder (VLANs no client segment names) overflowed.</summary>
    public bool SharedRemainder { get; init; }

    /// <summary>
    /// Overflow: a folded flow named no client, so the episode concerns the whole site (<see cref="Clients"/>
    /// stays empty from then on).
    /// </summary>
    public bool SiteWide { get; set; }

    /// <summary>True while the episode lasts.</summary>
    public bool Open { get; set; } = true;

    /// <summary>Bumped on every change, so a publisher can tell what moved since it last looked.</summary>
    public int Version { get; set; }

    public bool Published { get; set; }

    public int PublishedVersion { get; set; }

    /// <summary>The clients named when last handed out as a new finding (a wider scope is handed out as new again).</summary>
    public IReadOnlyList<string>? PublishedClients { get; set; }
}
