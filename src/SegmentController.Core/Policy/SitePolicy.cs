namespace SegmentController.Core.Policy;

/// <summary>
/// One provider site: who the clients are, where their traffic lives and what the controller does
/// when isolation breaks. Immutable; a reload produces a new instance.
/// </summary>
public sealed record SitePolicy
{
    /// <summary>The site's identity.</summary>
    public required SiteInfo Site { get; init; }

    /// <summary>The controller's own listeners, capture and store.</summary>
    public required ControllerSettings Controller { get; init; }

    /// <summary>Shared infrastructure that belongs to no client.</summary>
    public required InfrastructureSettings Infrastructure { get; init; }

    /// <summary>The switches inventoried over SNMP.</summary>
    public required IReadOnlyList<SwitchDefinition> Switches { get; init; }

    /// <summary>The clients whose data must stay apart.</summary>
    public required IReadOnlyList<ClientDefinition> Clients { get; init; }

    /// <summary>What each severity (or a single rule) leads to.</summary>
    public RuleSet Rules { get; init; } = RuleSet.Default;

    /// <summary>Scheduled audits.</summary>
    public AuditSettings Audits { get; init; } = new();

    /// <summary>Who may lift a suspension, and when.</summary>
    public RestoreSettings Restore { get; init; } = new();

    /// <summary>Where the policy was read from (for messages and records).</summary>
    public string SourcePath { get; init; } = "";

    /// <summary>Lower-case hex SHA-256 of the policy file's bytes.</summary>
    public string Sha256 { get; init; } = "";

    /// <summary>Finds a client by id (ordinal).</summary>
    public ClientDefinition? FindClient(string id) =>
        Clients.FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.Ordinal));

    /// <summary>Finds a switch by name (ordinal).</summary>
    public SwitchDefinition? FindSwitch(string name) =>
        Switches.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));
}
