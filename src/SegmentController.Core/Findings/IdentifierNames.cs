namespace SegmentController.Core.Findings;

/// <summary>The stable lower-case spellings of enum identifiers used in output and metrics.</summary>
public static class IdentifierNames
{
    public static string Of(Severity severity) => severity switch
    {
        Severity.Critical => "critical",
        Severity.High => "high",
        Severity.Medium => "medium",
        Severity.Low => "low",
        Severity.Info => "info",
        _ => throw new ArgumentOutOfRangeException(nameof(severity)),
    };

    public static string Of(FindingSource source) => source switch
    {
        FindingSource.Capture => "capture",
        FindingSource.Snmp => "snmp",
        FindingSource.Proxy => "proxy",
        FindingSource.Audit => "audit",
        FindingSource.Store => "store",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };
}
