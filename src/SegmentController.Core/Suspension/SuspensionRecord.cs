namespace SegmentController.Core.Suspension;

/// <summary>One suspension in force: who or what tripped it, why, and how enforcement went.</summary>
public sealed record SuspensionRecord
{
    /// <summary>A unique id for the record and the store.</summary>
    public required string Id { get; init; }

    /// <summary>The client id, or <see cref="SuspensionNames.AllClients"/>.</summary>
    public required string Scope { get; init; }

    /// <summary>What tripped it.</summary>
    public required SuspensionTrigger Trigger { get; init; }

    /// <summary>The operator, or the component (<c>capture</c>, <c>snmp</c>, <c>proxy</c>, <c>audit</c>, <c>controller</c>).</summary>
    public required string Actor { get; init; }

    /// <summary>Why, in words.</summary>
    public required string Reason { get; init; }

    /// <summary>The rule id of the finding that tripped it, if any.</summary>
    public string? Rule { get; init; }

    /// <summary>
    /// When an audit of its client last failed while it was in force, or the failed audit that tripped it:
    /// a restore needs an audit that passed since (null when no audit failed).
    /// </summary>
    public DateTimeOffset? FailedAuditAt { get; init; }

    /// <summary>When the trip was written durably (and so acknowledged).</summary>
    public required DateTimeOffset TrippedAt { get; init; }

    /// <summary>Enforcement stages as they ran, in order.</summary>
    public IReadOnlyList<StageTiming> Stages { get; init; } = [];

    /// <summary>The switch port shutdown of the trip, as read back (null until it ran, or when no port is to be shut).</summary>
    public PortActionResult? Ports { get; init; }

    /// <summary>Switch ports shut again at controller starts while this suspension was in force.</summary>
    public IReadOnlyList<PortReassertion> Reassertions { get; init; } = [];

    /// <summary>Switch ports reloads took away from the suspended client: brought up for the client now owning them (not suspended, or with its ports not to be shut), or left shut.</summary>
    public IReadOnlyList<PortRelease> Releases { get; init; } = [];
}
