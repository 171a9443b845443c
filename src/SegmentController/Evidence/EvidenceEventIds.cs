namespace SegmentController.Evidence;

/// <summary>Event ids of the evidence store's services (1610–1699, beside <c>EventIds.EvidenceStoreUnavailable</c>).</summary>
internal static class EvidenceEventIds
{
    public const int IntegrityAlert = 1610;
    public const int IntegrityAlertNotHandled = 1611;
    public const int RecordOwed = 1612;
    public const int OwedRecordWritten = 1613;
    public const int PurgeCompleted = 1614;
    public const int PurgeFailed = 1615;
    public const int VerificationPassed = 1616;
    public const int VerificationFailed = 1617;
    public const int VerificationNotRun = 1618;
    public const int SigningKeyRotated = 1619;
    public const int StoreNotice = 1620;
}
