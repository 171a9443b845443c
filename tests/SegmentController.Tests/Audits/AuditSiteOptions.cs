namespace SegmentController.Tests.Audits;

/// <summary>How <see cref="AuditSite"/> writes its policy.</summary>
internal sealed record AuditSiteOptions
{
    /// <summary>Ports as the switch has them; false gives alpha bravo's port ge-0/0/4.</summary>
    public bool CleanPorts { get; init; } = true;

    public bool SuspendOnFailure { get; init; } = true;

    /// <summary>Alpha gets an upstream (the proxy must then run for alpha's audit to pass).</summary>
    public bool AlphaUpstream { get; init; }

    /// <summary>Give the proxy a certificate, so that it runs.</summary>
    public bool ProxyCertificate { get; init; }

    /// <summary>SNMP timeout per request (snmpsimd is slow when the machine is busy; a silent port needs no patience).</summary>
    public string SwitchTimeout { get; init; } = "2s";

    /// <summary>
    /// The poller's critical findings take the policy's default action, suspend; otherwise the policy has
    /// <c>port-vlan-mismatch</c> only alert, so that an audit alone suspends.
    /// </summary>
    public bool PollerSuspends { get; init; }

    /// <summary>A capture interface for the policy (none when null).</summary>
    public string? CaptureInterface { get; init; }
}
