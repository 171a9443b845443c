namespace SegmentController.Core.Policy;

/// <summary>What a suspension does beyond closing the proxy.</summary>
public sealed record KillActions
{
    /// <summary>Shut the client's switch ports (SNMP SET ifAdminStatus down).</summary>
    public bool ShutPorts { get; init; } = true;

    /// <summary>
    /// Infrastructure ports (trunks, uplinks) the policy explicitly allows to be shut for this client;
    /// any other infrastructure port is refused.
    /// </summary>
    public IReadOnlyList<PortAssignment> ForceShutPorts { get; init; } = [];

    /// <summary>Webhooks called on trip and restore.</summary>
    public IReadOnlyList<Webhook> Webhooks { get; init; } = [];
}
