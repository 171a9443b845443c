namespace SegmentController.Core.Policy;

/// <summary>A switch inventoried over SNMP.</summary>
public sealed record SwitchDefinition
{
    /// <summary>The switch's name in the policy (metric label, finding evidence).</summary>
    public required string Name { get; init; }

    /// <summary>Host name or IP address of the SNMP agent.</summary>
    public required string Address { get; init; }

    /// <summary>UDP port of the SNMP agent.</summary>
    public int Port { get; init; } = 161;

    /// <summary>Which MIBs describe its VLANs.</summary>
    public SwitchProfile Profile { get; init; } = SwitchProfile.QBridge;

    /// <summary>Version and credentials.</summary>
    public required SnmpSettings Snmp { get; init; }

    /// <summary>
    /// The most GETBULK max-repetitions a policy may ask: rows per column per request. The request is sent
    /// as configured; the agent answers as many as fit its response limit.
    /// </summary>
    public const int MaxRepetitionsLimit = 200;

    /// <summary>GETBULK max-repetitions, 1 to <see cref="MaxRepetitionsLimit"/>.</summary>
    public int MaxRepetitions { get; init; } = 25;

    /// <summary>Per-request timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest <see cref="Timeout"/> a policy may give.</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromMinutes(1);

    /// <summary>Retries after a timeout.</summary>
    public int Retries { get; init; } = 2;

    /// <summary>How often the switch is inventoried.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(60);
}
