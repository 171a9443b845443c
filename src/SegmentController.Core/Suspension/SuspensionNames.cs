namespace SegmentController.Core.Suspension;

/// <summary>Stable lower-case spellings of suspension identifiers (metric labels, records, the state file).</summary>
public static class SuspensionNames
{
    /// <summary>The scope that stands for every client of the site.</summary>
    public const string AllClients = "*";

    public static string Of(SuspensionTrigger trigger) => trigger switch
    {
        SuspensionTrigger.Operator => "operator",
        SuspensionTrigger.Finding => "finding",
        SuspensionTrigger.Audit => "audit",
        SuspensionTrigger.VerificationLost => "verification-lost",
        SuspensionTrigger.StateUnreadable => "state-unreadable",
        _ => throw new ArgumentOutOfRangeException(nameof(trigger)),
    };

    public static string Of(SuspensionStage stage) => stage switch
    {
        SuspensionStage.Persist => "persist",
        SuspensionStage.Gate => "gate",
        SuspensionStage.InFlight => "inflight",
        SuspensionStage.UpstreamPool => "upstream-pool",
        SuspensionStage.SwitchPorts => "switch-ports",
        SuspensionStage.Webhooks => "webhooks",
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };

    public static string Of(PortReassertionCause cause) => cause switch
    {
        PortReassertionCause.Start => "start",
        PortReassertionCause.PolicyReload => "policy-reload",
        PortReassertionCause.Retry => "retry",
        _ => throw new ArgumentOutOfRangeException(nameof(cause)),
    };
}
