namespace SegmentController.Audits;

/// <summary>Event ids of the audit service's log messages (1800–1899, beside <c>EventIds</c>).</summary>
internal static class AuditEventIds
{
    public const int AuditCompleted = 1800;
    public const int AuditFailed = 1801;
    public const int AuditPassNotRecorded = 1802;
    public const int AuditSuspensionFailed = 1803;
    public const int ScheduledAuditFailed = 1804;
    public const int HistoryNotLoaded = 1805;
    public const int AuditProgress = 1806;
}
