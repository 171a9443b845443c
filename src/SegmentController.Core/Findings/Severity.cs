namespace SegmentController.Core.Findings;

/// <summary>Severity of a finding; the lower-case names are stable identifiers.</summary>
public enum Severity
{
    /// <summary>For the record.</summary>
    Info,

    /// <summary>Worth a look.</summary>
    Low,

    /// <summary>Needs attention.</summary>
    Medium,

    /// <summary>Isolation is at risk.</summary>
    High,

    /// <summary>Isolation is broken.</summary>
    Critical,
}
