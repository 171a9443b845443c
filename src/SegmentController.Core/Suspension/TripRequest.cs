namespace SegmentController.Core.Suspension;

/// <summary>A request to suspend one client or the whole site.</summary>
public sealed record TripRequest
{
    /// <summary>The client id, or <see cref="SuspensionNames.AllClients"/>.</summary>
    public required string Scope { get; init; }

    /// <summary>What asks for it.</summary>
    public required SuspensionTrigger Trigger { get; init; }

    /// <summary>The operator or component asking.</summary>
    public required string Actor { get; init; }

    /// <summary>Why.</summary>
    public required string Reason { get; init; }

    /// <summary>The finding's rule id, for finding-triggered trips.</summary>
    public string? Rule { get; init; }
}
