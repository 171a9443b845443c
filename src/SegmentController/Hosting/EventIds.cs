namespace SegmentController;

/// <summary>Log event ids of the executable, in one place so they stay unique.</summary>
internal static class EventIds
{
    public const int HostStarted = 1000;
    public const int HostStopping = 1001;
    public const int PolicyApplied = 1010;
    public const int PolicyRejected = 1011;
    public const int PolicyRejectedError = 1012;
    public const int FindingMade = 1100;
    public const int FindingConsumerFailed = 1101;
    public const int VerificationChanged = 1200;
}
