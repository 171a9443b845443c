namespace SegmentController.Snmp.Transport;

/// <summary>Per-device transport settings.</summary>
internal sealed record SnmpClientOptions
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Retransmissions after the first attempt.</summary>
    public int Retries { get; init; } = 2;

    /// <summary>Requests outstanding at once towards one device; small switches drop bursts.</summary>
    public int MaxInFlight { get; init; } = 4;
}
