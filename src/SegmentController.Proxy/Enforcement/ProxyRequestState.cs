using SegmentController.Proxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace SegmentController.Proxy.Enforcement;

/// <summary>What the proxy learned about one request, for enforcement and its access record.</summary>
internal sealed class ProxyRequestState
{
    /// <summary>The policy the request is decided with, from the source's client to the route's upstream.</summary>
    public required ProxySnapshot Snapshot { get; init; }

    public string? SourceClient { get; init; }

    /// <summary>The agent's client certificate, as far as it tells; null when none was presented.</summary>
    public AgentIdentity? Identity { get; init; }

    public string? RouteClient { get; set; }

    public string? Outcome { get; set; }

    public string? Upstream { get; set; }

    /// <summary>The route's proxying, once the in-route check passed the request on to the forwarder; null before and otherwise.</summary>
    public IReverseProxyFeature? Forwarding { get; set; }
}
