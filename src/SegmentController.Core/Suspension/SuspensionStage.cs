namespace SegmentController.Core.Suspension;

/// <summary>The enforcement stages of a trip, in the order they run.</summary>
public enum SuspensionStage
{
    /// <summary>The trip is written durably (before anything else, before the acknowledgement).</summary>
    Persist,

    /// <summary>New connections and requests from the client are refused.</summary>
    Gate,

    /// <summary>Requests and upgraded connections in flight are aborted.</summary>
    InFlight,

    /// <summary>Pooled upstream connections for the client are dropped.</summary>
    UpstreamPool,

    /// <summary>The client's switch ports are shut and read back.</summary>
    SwitchPorts,

    /// <summary>Webhooks are called.</summary>
    Webhooks,
}
