namespace SegmentController.Core.Policy;

/// <summary>What a finding leads to, from the mildest to the strongest.</summary>
public enum FindingAction
{
    /// <summary>Written to the store only.</summary>
    Record,

    /// <summary>Recorded and counted in metrics for alerting.</summary>
    Alert,

    /// <summary>Opens (or joins) an incident, which starts the notification clock.</summary>
    Incident,

    /// <summary>Opens an incident and suspends the affected clients.</summary>
    Suspend,
}
