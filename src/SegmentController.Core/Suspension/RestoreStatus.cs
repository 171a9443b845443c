namespace SegmentController.Core.Suspension;

/// <summary>Where a restore request stands.</summary>
public enum RestoreStatus
{
    /// <summary>The suspension is lifted.</summary>
    Restored,

    /// <summary>Recorded; more distinct approvers are needed.</summary>
    PendingApproval,

    /// <summary>Refused; see the message.</summary>
    Refused,
}
