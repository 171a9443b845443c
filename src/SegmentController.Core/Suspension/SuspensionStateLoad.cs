namespace SegmentController.Core.Suspension;

/// <summary>What reading the state file gave: a state, or why there is none.</summary>
public sealed record SuspensionStateLoad
{
    /// <summary>The state read, or null when it could not be read.</summary>
    public SuspensionState? State { get; init; }

    /// <summary>Why the state could not be read (the engine then suspends every client).</summary>
    public string? Error { get; init; }
}
