namespace SegmentController.Core.Policy;

/// <summary>Scheduled audits.</summary>
public sealed record AuditSettings
{
    /// <summary>How often an audit runs on its own; none means on demand only.</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>A failed audit suspends the affected clients.</summary>
    public bool SuspendOnFailure { get; init; } = true;
}
