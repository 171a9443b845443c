namespace SegmentController.Proxy;

/// <summary>The bounded set of request outcomes (metric label values and access record field).</summary>
public static class ProxyOutcomes
{
    /// <summary>Forwarded and answered by the upstream.</summary>
    public const string Forwarded = "forwarded";

    /// <summary>The route, or the agent's certificate, belongs to another client than the source's segment.</summary>
    public const string CrossClient = "cross-client";

    /// <summary>The source address is in no client segment.</summary>
    public const string UnknownSource = "unknown-source";

    /// <summary>Certificates are required and the agent's identifies no client (none, untrusted, no match).</summary>
    public const string UnknownIdentity = "unknown-identity";

    /// <summary>The client is suspended.</summary>
    public const string Suspended = "suspended";

    /// <summary>The store cannot take access records: nothing is forwarded.</summary>
    public const string StoreUnavailable = "store-unavailable";

    /// <summary>No route matches the host and path.</summary>
    public const string NoRoute = "no-route";

    /// <summary>
    /// Refused by the HTTP server itself, before the proxy's checks: a request line or headers it cannot parse or that pass
    /// its limits, framing it does not take, headers that never finished arriving; over HTTP/2 a stream it reset or a
    /// connection it closed for a protocol error. Nothing was forwarded.
    /// </summary>
    public const string Malformed = "malformed";

    /// <summary>The upstream could not be reached or refused the TLS handshake.</summary>
    public const string UpstreamError = "upstream-error";

    /// <summary>Cut while in flight (a trip, or the agent went away); a cross-client request cut after its refusal stays <see cref="CrossClient"/>.</summary>
    public const string Aborted = "aborted";

    /// <summary>The connection was dropped by the gate before TLS (suspended client, or any source while the site-wide switch is on).</summary>
    public const string RefusedAtGate = "refused-at-gate";

    /// <summary>Label value for requests from sources that map to no client (a reserved client label, never a client id).</summary>
    public const string UnknownClient = Core.Policy.ReservedClientLabels.UnknownClient;
}
