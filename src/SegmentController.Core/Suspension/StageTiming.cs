namespace SegmentController.Core.Suspension;

/// <summary>How long one enforcement stage took and whether it did what it should.</summary>
public sealed record StageTiming
{
    /// <summary>The stage.</summary>
    public required SuspensionStage Stage { get; init; }

    /// <summary>Elapsed time of the stage alone.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>False when the stage failed (the suspension stays in force regardless).</summary>
    public required bool Succeeded { get; init; }

    /// <summary>What went wrong, or what was skipped and why.</summary>
    public string? Detail { get; init; }
}
