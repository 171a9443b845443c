namespace SegmentController.Core.Incidents;

/// <summary>How one incident notice is posted (retries are the incident manager's: <see cref="IncidentManager.RetryBackoff"/>).</summary>
public sealed record WebhookNotifierOptions
{
    /// <summary>Time allowed for one request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
