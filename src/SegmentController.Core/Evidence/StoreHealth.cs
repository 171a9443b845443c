namespace SegmentController.Core.Evidence;

/// <summary>Whether the store can record evidence right now.</summary>
/// <param name="IsWritable">False after a batch failed to commit, until one commits again.</param>
/// <param name="LastError">Why the last write failed (null while healthy).</param>
/// <param name="Since">When the current state began.</param>
public sealed record StoreHealth(bool IsWritable, string? LastError, DateTimeOffset Since)
{
    /// <summary>The state of a store that has not failed.</summary>
    public static StoreHealth Healthy(DateTimeOffset since) => new(true, null, since);
}
