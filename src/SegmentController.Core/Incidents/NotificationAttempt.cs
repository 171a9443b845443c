namespace SegmentController.Core.Incidents;

/// <summary>One try to deliver an incident notice.</summary>
/// <param name="At">When the attempt started.</param>
/// <param name="Contact">The contact's name.</param>
/// <param name="Url">The webhook URL.</param>
/// <param name="Attempt">1 for the first try to this contact.</param>
/// <param name="Delivered">True when the receiver answered 2xx.</param>
/// <param name="Outcome">The HTTP status or the error.</param>
/// <param name="Client">The client whose notice it carried (its own view of the incident); null in records made before notices were per client.</param>
public sealed record NotificationAttempt(DateTimeOffset At, string Contact, Uri Url, int Attempt, bool Delivered, string Outcome, string? Client = null);
