namespace SegmentController.Capture.Flows;

/// <summary>What the analyzer keeps per flow. Lives inline in <see cref="FlowTable"/>'s arrays.</summary>
internal struct FlowState
{
    public long FirstTicks;
    public long LastTicks;
    public long Packets;
    public long Bytes;

    /// <summary>The policy index the classification below came from; a reload reclassifies.</summary>
    public int Generation;

    public int SourceClient;
    public int DestinationClient;

    /// <summary>Rules the flow breaks by its addresses and tags alone (decided once per flow).</summary>
    public uint StaticRules;

    /// <summary>Rules the flow was seen breaking by content (cleartext, weak TLS, foreign MAC).</summary>
    public uint ContentRules;

    /// <summary>The segment whose MAC list applies, or -1.</summary>
    public int MacSegment;

    /// <summary>True when the flow touches a client upstream, so its payload must be TLS.</summary>
    public bool TouchesUpstream;

    public bool PayloadChecked;

    /// <summary>When the flow last moved to the young end of the order.</summary>
    internal long OrderedTicks;

    /// <summary>LRU links (slot indexes, -1 at the ends).</summary>
    internal int Previous;
    internal int Next;
}
