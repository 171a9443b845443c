namespace SegmentController.Capture.Flows;

/// <summary>
/// A flow's key and state side by side, so the lookup that finds the key has already brought the state
/// into cache.
/// </summary>
internal struct FlowEntry
{
    public FlowKey Key;

    /// <summary>The key's hash (kept so removal finds the bucket without rehashing).</summary>
    public uint Hash;

    public FlowState State;
}
