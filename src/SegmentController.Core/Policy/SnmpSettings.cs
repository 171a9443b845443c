namespace SegmentController.Core.Policy;

/// <summary>SNMP version and credentials (by reference).</summary>
public sealed record SnmpSettings
{
    /// <summary>The protocol version.</summary>
    public SnmpVersion Version { get; init; } = SnmpVersion.V3;

    /// <summary>The v2c community.</summary>
    public SecretReference? Community { get; init; }

    /// <summary>The v3 user (USM security name).</summary>
    public string? User { get; init; }

    /// <summary>The v3 authentication protocol; none means noAuthNoPriv.</summary>
    public SnmpAuthProtocol? AuthProtocol { get; init; }

    /// <summary>The v3 authentication pass phrase.</summary>
    public SecretReference? AuthPassphrase { get; init; }

    /// <summary>The v3 privacy protocol; none means no privacy.</summary>
    public SnmpPrivProtocol? PrivProtocol { get; init; }

    /// <summary>The v3 privacy pass phrase.</summary>
    public SecretReference? PrivPassphrase { get; init; }

    /// <summary>The v3 context name.</summary>
    public string? Context { get; init; }

    /// <summary>Permits MD5 and DES; their use is still reported as <c>insecure-snmp</c>.</summary>
    public bool AllowLegacy { get; init; }
}
