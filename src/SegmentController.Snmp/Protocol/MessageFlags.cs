namespace SegmentController.Snmp.Protocol;

/// <summary>msgFlags of RFC 3412 §6.4.</summary>
[Flags]
internal enum MessageFlags
{
    None = 0,
    Auth = 1,
    Priv = 2,
    Reportable = 4,
}
