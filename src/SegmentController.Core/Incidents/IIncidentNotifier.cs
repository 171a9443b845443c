using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>Delivers an incident notice to one contact; returns every attempt made.</summary>
public interface IIncidentNotifier
{
    Task<IReadOnlyList<NotificationAttempt>> NotifyAsync(Incident incident, Contact contact, CancellationToken cancellationToken);
}
