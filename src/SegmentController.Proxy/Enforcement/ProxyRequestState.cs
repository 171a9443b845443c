namespace SegmentController.Proxy.Enforcement;

/// <summary>What the proxy learned about one request, for enforcement and its access record.</summary>
internal sealed class ProxyRequestState
{
    public string? SourceClient { get; init; }

    /// <summary>The agent's client certificate, as far as it tells; null when none was presented.</summary>
    public AgentIdentity? Identity { get; init; }

    public string? RouteClient { get; set; }

    public string? Outcome { get; set; }

    public string? Upstream { get; set; }
}
