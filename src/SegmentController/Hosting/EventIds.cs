namespace SegmentController;

/// <summary>Log event ids of the executable, in one place so they stay unique.</summary>
internal static class EventIds
{
    public const int HostStarted = 1000;
    public const int HostStopping = 1001;
    public const int PolicyApplied = 1010;
    public const int PolicyRejected = 1011;
    public const int PolicyRejectedError = 1012;
    public const int PolicyRestartRequired = 1013;
    public const int FindingMade = 1100;
    public const int FindingConsumerFailed = 1101;
    public const int FindingUpdated = 1102;
    public const int VerificationChanged = 1200;
    public const int VerificationWithdrawn = 1201;
    public const int CaptureStarted = 1300;
    public const int CaptureFailed = 1301;
    public const int CapturePolicyWarning = 1302;
    public const int CapturePolicyApplied = 1303;
    public const int CaptureInterfacesChanged = 1304;
    public const int CapturePublishFailed = 1305;
    public const int CaptureRestarting = 1306;
    public const int CaptureEvidenceNotWritten = 1307;
    public const int CaptureEvidenceFull = 1308;
    public const int CaptureSourceFailed = 1309;
    public const int CaptureSourceStillFailing = 1310;
    public const int SuspensionTripped = 1400;
    public const int SuspensionStageFailed = 1401;
    public const int SuspensionRestored = 1402;
    public const int SuspensionStateUnreadable = 1403;
    public const int SuspensionPortsReasserted = 1404;
    public const int SuspensionPortsNotReasserted = 1405;
    public const int SuspensionInForceAtStart = 1406;
    public const int SuspensionRecordDelayed = 1407;
    public const int SuspensionRecordWrittenLate = 1408;
    public const int SuspensionNotRecorded = 1409;
    public const int ProxyListening = 1410;
    public const int ProxyNotStarted = 1411;
    public const int TripPriority = 1412;
    public const int SuspensionPortRetryFailed = 1413;
    public const int SuspensionPortsStillNotShut = 1414;
    public const int SuspensionPortsReleased = 1415;
    public const int SuspensionPortsNotReleased = 1416;
    public const int RestorePortsBroughtUp = 1417;
    public const int RestorePortRetryFailed = 1418;
    public const int RestorePortsStillNotUp = 1419;
    public const int SnmpPollFailed = 1500;
    public const int SnmpPublishFailed = 1501;
    public const int SnmpSwitchRecovered = 1502;
    public const int EvidenceStoreUnavailable = 1600;
    public const int IncidentMeasureNotLinked = 1700;
    public const int IncidentWorkFailed = 1701;
    public const int IncidentsRestored = 1702;
    public const int IncidentsNotRestored = 1703;
    public const int IncidentNoticeFailed = 1704;
    public const int IncidentNoticeResumed = 1705;
    public const int IncidentNoticeLapsed = 1706;
}
