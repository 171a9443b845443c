namespace SegmentController.Capture.Rules;

/// <summary>Bounds of one analyzer: every structure it grows has a cap.</summary>
internal sealed record CaptureAnalyzerOptions
{
    /// <summary>Flows tracked at once; the oldest is evicted beyond this.</summary>
    public int FlowCapacity { get; init; } = 262_144;

    /// <summary>A flow idle this long is forgotten.</summary>
    public TimeSpan FlowIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Distinct violations (rule × flow) tracked one by one. Violations already published, with their
    /// evidence written and their flow idle for <see cref="FlowIdleTimeout"/>, are forgotten to make
    /// room; when none can be, further violating flows are folded into one aggregate per rule (still
    /// reported, counted and named by client) and a capture-degraded episode naming their clients says so.
    /// </summary>
    public int MaxViolations { get; init; } = 10_000;

    /// <summary>Frames kept as evidence per violation.</summary>
    public int EvidenceFramesPerViolation { get; init; } = 8;

    /// <summary>Bytes kept of each evidence frame.</summary>
    public int EvidenceSnapLength { get; init; } = 2048;

    /// <summary>Total evidence bytes kept; frames beyond are not copied.</summary>
    public long EvidenceByteBudget { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// IP→MAC bindings remembered for ARP spoofing, split into one share per client VLAN of the policy and a
    /// shared remainder for every other VLAN. Beyond a share's size, its bindings of addresses the policy
    /// does not name make room oldest first, then its bindings of named addresses idle for
    /// <see cref="ArpBindingIdleTimeout"/>; when none may, new claims are not remembered and capture is
    /// reported degraded for that share's clients (<see cref="ArpBindings"/>). Null (the default): the
    /// policy's <c>controller.capture.arp_bindings</c>, followed on reload.
    /// </summary>
    public int? ArpBindingCapacity { get; init; }

    /// <summary>How long a binding of an address the policy names must go unclaimed before it may make room.</summary>
    public TimeSpan ArpBindingIdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>TLS server names (SNI) remembered per connection, for the evidence of TLS findings.</summary>
    public int ServerNameCapacity { get; init; } = 65_536;

    /// <summary>Capture-degraded episodes kept; the oldest finished and published ones make room.</summary>
    public int MaxDegradedEvents { get; init; } = 256;
}
