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

    /// <summary>Rules whose frames count toward the rule's aggregate (the violation table was full).</summary>
    public uint AggregatedRules;

    /// <summary>The segment whose MAC list applies, or -1.</summary>
    public int MacSegment;

    /// <summary>True when the flow touches a client upstream, so its payload must be TLS.</summary>
    public bool TouchesUpstream;

    /// <summary>
    /// What the payload was judged to be. Kept across a policy reload: it is a fact about the stream,
    /// and a stream seen from its middle cannot be judged again from its start.
    /// </summary>
    public PayloadVerdict Verdict;

    /// <summary>TCP: true once a SYN of this direction was seen, so <see cref="StreamStart"/> is known.</summary>
    public bool StartSeen;

    /// <summary>TCP: the sequence number of the stream's first payload byte (the SYN's plus one).</summary>
    public uint StreamStart;

    /// <summary>Payload segments looked at without knowing where the stream starts, and how many were text.</summary>
    public byte SegmentsExamined;

    public byte TextSegments;

    /// <summary>When the flow last moved to the young end of the order.</summary>
    internal long OrderedTicks;

    /// <summary>LRU links (slot indexes, -1 at the ends).</summary>
    internal int Previous;
    internal int Next;
}
