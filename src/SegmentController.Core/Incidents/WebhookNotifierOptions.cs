namespace SegmentController.Core.Incidents;

/// <summary>Retries of incident webhooks.</summary>
public sealed record WebhookNotifierOptions
{
    /// <summary>Tries per contact before giving up (each is recorded).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Wait before the second try; doubles each time.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait between tries.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Time allowed for one request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
