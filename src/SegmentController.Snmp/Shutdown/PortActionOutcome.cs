namespace SegmentController.Snmp.Shutdown;

/// <summary>What happened to one port.</summary>
internal enum PortActionOutcome
{
    /// <summary>Set and verified by reading ifAdminStatus back.</summary>
    Done,

    /// <summary>Not touched, and why is in the detail (trunk, uplink, shared, policy says no).</summary>
    Refused,

    /// <summary>Tried and failed, or the read-back disagreed.</summary>
    Failed,
}
