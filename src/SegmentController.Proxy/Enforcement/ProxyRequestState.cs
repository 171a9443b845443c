namespace SegmentController.Proxy.Enforcement;

/// <summary>What the proxy learned about one request, for enforcement and its access record.</summary>
internal sealed class ProxyRequestState
{
    public string? SourceClient { get; init; }

    public string? RouteClient { get; set; }

    public string? Outcome { get; set; }

    public string? Upstream { get; set; }
}
