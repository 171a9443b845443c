namespace SegmentController.Core.Policy;

/// <summary>Who may lift a suspension, and when.</summary>
public sealed record RestoreSettings
{
    /// <summary>Distinct people needed: the requester plus approvers (1 or 2).</summary>
    public int Approvers { get; init; } = 2;

    /// <summary>A passing audit since the trip is needed before a restore.</summary>
    public bool RequirePassingAudit { get; init; }
}
