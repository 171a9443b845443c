namespace SegmentController.Core.Policy;

/// <summary>A client of the provider whose data must stay apart from every other client's.</summary>
public sealed record ClientDefinition
{
    /// <summary>A short stable id (metric label, store key).</summary>
    public required string Id { get; init; }

    /// <summary>A readable name.</summary>
    public required string Name { get; init; }

    /// <summary>The last day of the contract.</summary>
    public required DateOnly ContractEnd { get; init; }

    /// <summary>The latest contract end a policy may give (its retention end, six years on, must be a date too).</summary>
    public static DateOnly LatestContractEnd { get; } = new(9000, 12, 31);

    /// <summary>Where the client's agents sit.</summary>
    public required IReadOnlyList<Segment> Segments { get; init; }

    /// <summary>The client's systems, reached through the proxy.</summary>
    public IReadOnlyList<Upstream> Upstreams { get; init; } = [];

    /// <summary>The client certificates of the client's agents (when the proxy requires them).</summary>
    public AgentCertificates AgentCertificates { get; init; } = new();

    /// <summary>What a suspension does beyond closing the proxy.</summary>
    public KillActions Kill { get; init; } = new();

    /// <summary>Whom to tell of incidents.</summary>
    public IReadOnlyList<Contact> Notify { get; init; } = [];

    /// <summary>Records concerning this client are kept until this day: contract end plus six years.</summary>
    public DateOnly RetainUntil => ContractEnd.AddYears(6);

    /// <summary>
    /// The switch ports a suspension of this client shuts: its segments' ports and its
    /// <c>kill.force_shut_ports</c>, one assignment per switch, each port once.
    /// </summary>
    public PortAssignment[] PortsToShut() =>
        Segments.SelectMany(s => s.Ports)
            .Concat(Kill.ForceShutPorts)
            .GroupBy(p => p.Switch, StringComparer.Ordinal)
            .Select(g => new PortAssignment { Switch = g.Key, Ports = g.SelectMany(p => p.Ports).Distinct(StringComparer.Ordinal).ToArray() })
            .ToArray();
}
