using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>Delivers an incident notice to one contact of one client; one attempt per call (the caller retries and records each).</summary>
public interface IIncidentNotifier
{
    /// <summary>Sends <paramref name="notice"/> (already the client's own view) to <paramref name="contact"/>; returns the attempt as made.</summary>
    Task<NotificationAttempt> SendAsync(Incident notice, string clientId, Contact contact, int attempt, CancellationToken cancellationToken);
}
