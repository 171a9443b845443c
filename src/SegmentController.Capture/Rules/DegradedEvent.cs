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

    /// <summary>True while the episode lasts.</summary>
    public bool Open { get; set; } = true;

    /// <summary>Bumped on every change, so a publisher can tell what moved since it last looked.</summary>
    public int Version { get; set; }

    public bool Published { get; set; }

    public int PublishedVersion { get; set; }
}
