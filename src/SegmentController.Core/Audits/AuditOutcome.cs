namespace SegmentController.Core.Audits;

/// <summary>The result of a check or of an audit for a client. Indeterminate is never a pass.</summary>
public enum AuditOutcome
{
    /// <summary>Evidence present and clean.</summary>
    Pass,

    /// <summary>Evidence shows a failure.</summary>
    Fail,

    /// <summary>Evidence missing (switch unreachable, capture loss above threshold, source failed).</summary>
    Indeterminate,
}
