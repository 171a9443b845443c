namespace SegmentController.Core.Incidents;

/// <summary>Whether an incident is still being handled.</summary>
public enum IncidentStatus
{
    /// <summary>Open: findings may still join it.</summary>
    Open,

    /// <summary>Closed by an operator.</summary>
    Closed,
}
