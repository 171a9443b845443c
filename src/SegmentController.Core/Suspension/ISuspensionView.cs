namespace SegmentController.Core.Suspension;

/// <summary>What the enforcers read: the suspensions in force, lock-free.</summary>
public interface ISuspensionView
{
    /// <summary>The state in force now.</summary>
    SuspensionState Current { get; }
}
