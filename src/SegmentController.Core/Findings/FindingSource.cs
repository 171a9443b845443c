namespace SegmentController.Core.Findings;

/// <summary>The kind of evidence a finding comes from.</summary>
public enum FindingSource
{
    /// <summary>Passive packet capture.</summary>
    Capture,

    /// <summary>SNMP switch inventory.</summary>
    Snmp,

    /// <summary>The inline proxy.</summary>
    Proxy,

    /// <summary>An audit.</summary>
    Audit,

    /// <summary>The tamper-evident store.</summary>
    Store,
}
