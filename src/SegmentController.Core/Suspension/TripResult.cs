namespace SegmentController.Core.Suspension;

/// <summary>
/// The acknowledgement of a trip: returned once the trip is durable and the local stages (gate,
/// in-flight, upstream pool) have run. <see cref="Completion"/> finishes after the slow stages (switch
/// ports, webhooks) and yields the record with every stage's timing.
/// </summary>
public sealed record TripResult
{
    /// <summary>The suspension as acknowledged (local stages timed).</summary>
    public required SuspensionRecord Record { get; init; }

    /// <summary>False when the scope was already suspended; <see cref="Record"/> is then the existing one.</summary>
    public required bool Created { get; init; }

    /// <summary>Completes with the final record after every stage ran.</summary>
    public required Task<SuspensionRecord> Completion { get; init; }
}
