namespace SegmentController.Core.Incidents;

/// <summary>
/// An operator's change to an incident was refused: the incident's record has no room left for it (see
/// <see cref="IncidentManager.MaxRecordBytes"/>). Nothing was changed; what follows goes on a new incident.
/// </summary>
public sealed class IncidentFullException : InvalidOperationException
{
    public IncidentFullException()
    {
    }

    public IncidentFullException(string message)
        : base(message)
    {
    }

    public IncidentFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
