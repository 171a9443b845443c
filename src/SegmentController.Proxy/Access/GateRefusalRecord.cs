namespace SegmentController.Proxy.Access;

/// <summary>
/// Connections the gate dropped before TLS, for one client over one window (type <c>access</c>, outcome
/// <c>refused-at-gate</c>): no request was read, so there is no method, host, path or status.
/// </summary>
internal sealed record GateRefusalRecord
{
    /// <summary>The first refusal of the window.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The last refusal of the window.</summary>
    public required DateTimeOffset Until { get; init; }

    /// <summary>The client the sources belong to; null for sources in no client segment.</summary>
    public string? Client { get; init; }

    public string Outcome { get; init; } = ProxyOutcomes.RefusedAtGate;

    /// <summary>Connections dropped in the window.</summary>
    public required long Connections { get; init; }

    /// <summary>The sources, most connections first (at most <c>GateRefusals.MaxSources</c>).</summary>
    public required IReadOnlyList<GateRefusalSource> Sources { get; init; }

    /// <summary>Further distinct sources, not named (counted up to a bound).</summary>
    public long OtherSources { get; init; }

    /// <summary>Connections from the sources not named.</summary>
    public long OtherConnections { get; init; }
}
