namespace SegmentController.Core.Suspension;

/// <summary>The answer to a restore request or approval.</summary>
public sealed record RestoreOutcome
{
    /// <summary>Where the restore stands.</summary>
    public required RestoreStatus Status { get; init; }

    /// <summary>Why, for people.</summary>
    public required string Message { get; init; }

    /// <summary>Distinct approvers so far (the requester first).</summary>
    public IReadOnlyList<string> Approvers { get; init; } = [];

    /// <summary>Distinct approvers needed in all.</summary>
    public int Required { get; init; }

    /// <summary>The record, once restored.</summary>
    public RestoreRecord? Record { get; init; }
}
