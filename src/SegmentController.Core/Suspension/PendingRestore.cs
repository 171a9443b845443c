namespace SegmentController.Core.Suspension;

/// <summary>
/// A restore asked for and not yet approved by enough distinct people. Saved with the suspension state,
/// so approvals already given survive a controller restart; it is bound to the one suspension it would
/// lift (<see cref="SuspensionId"/>) and lapses when that suspension is replaced.
/// </summary>
public sealed record PendingRestore
{
    /// <summary>The <see cref="SuspensionRecord.Id"/> of the suspension this restore would lift.</summary>
    public required string SuspensionId { get; init; }

    /// <summary>Who asked (the first approver).</summary>
    public required string RequestedBy { get; init; }

    /// <summary>Why.</summary>
    public required string Reason { get; init; }

    /// <summary>When it was asked for.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>Distinct approvers so far, the requester first.</summary>
    public required IReadOnlyList<string> Approvers { get; init; }
}
