namespace SegmentController.Core.Incidents;

/// <summary>
/// One client's 8-hour notice clock in an incident: it starts when the client was first concerned (the
/// finding that brought it in was observed, or the operator opened the incident) and stops when a notice
/// reached one of its contacts.
/// </summary>
/// <param name="Client">The client.</param>
/// <param name="DetectedAt">When it was detected for this client.</param>
/// <param name="GivenAt">When a notice was first delivered to one of its contacts; null while not yet.</param>
public sealed record ClientNotice(string Client, DateTimeOffset DetectedAt, DateTimeOffset? GivenAt)
{
    /// <summary>The deadline: detection + 8 hours.</summary>
    public DateTimeOffset DueAt => DetectedAt + Incident.NoticeWindow;

    /// <summary>Whether notice was given in time (null while not given).</summary>
    public bool? OnTime => GivenAt is { } given ? given <= DueAt : null;
}
