namespace SegmentController.Core.Policy;

/// <summary>The controller's own listeners, capture, store and failure stance.</summary>
public sealed record ControllerSettings
{
    /// <summary>The inline reverse proxy between agents and client upstreams.</summary>
    public ProxySettings Proxy { get; init; } = new();

    /// <summary>The management listener: operator API, /metrics, /healthz.</summary>
    public ManagementSettings Management { get; init; } = new();

    /// <summary>Passive capture on mirror (SPAN) ports.</summary>
    public CaptureSettings Capture { get; init; } = new();

    /// <summary>The tamper-evident store.</summary>
    public StoreSettings Store { get; init; } = new();

    /// <summary>What to do when a verification source (capture, a switch) is lost.</summary>
    public VerificationLostAction OnVerificationLost { get; init; } = VerificationLostAction.Suspend;

    /// <summary>
    /// This site's controller is in service: its suspension state must already exist. A start that finds
    /// none suspends every client, as an unreadable state does — the data volume not mounted, the directory
    /// wiped or restored from an older backup. A new site's state is laid out before its first start
    /// (<c>segctl state init</c>). Off, a missing state is a first start unless the evidence store shows a
    /// controller ran here.
    /// </summary>
    public bool InService { get; init; }
}
