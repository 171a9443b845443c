namespace SegmentController.Api;

/// <summary>Event ids of the operator API's log messages (7000–7099, beside <c>Hosting.EventIds</c>).</summary>
internal static class ApiEventIds
{
    public const int AuthenticationRejected = 7001;
    public const int KeysFileProblem = 7002;
    public const int ActionNotRecorded = 7003;
    public const int OperatorAction = 7004;
    public const int KeyWithoutLockoutPass = 7005;
    public const int BrowserRequestRefused = 7006;
}
