namespace SegmentController.Core.Suspension;

/// <summary>A lifted suspension, with everyone who agreed to lift it.</summary>
public sealed record RestoreRecord
{
    /// <summary>The suspension that was lifted.</summary>
    public required SuspensionRecord Suspension { get; init; }

    /// <summary>The operator who asked for the restore.</summary>
    public required string RequestedBy { get; init; }

    /// <summary>The requester's reason.</summary>
    public required string Reason { get; init; }

    /// <summary>Distinct people who agreed, the requester first.</summary>
    public required IReadOnlyList<string> Approvers { get; init; }

    /// <summary>When the restore took effect.</summary>
    public required DateTimeOffset RestoredAt { get; init; }

    /// <summary>Ports brought up (or why not), when ports were shut.</summary>
    public PortActionResult? Ports { get; init; }
}
