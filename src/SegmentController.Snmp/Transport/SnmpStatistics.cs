namespace SegmentController.Snmp.Transport;

/// <summary>
/// What a client sent and dropped, for diagnosis of hostile or broken peers. <see cref="Requests"/> counts
/// request PDUs (discovery probes and the one retry after a Report included, retransmissions not);
/// <see cref="Sent"/> counts datagrams; <see cref="PeakInFlight"/> is the most requests ever outstanding at
/// once, which <see cref="SnmpClientOptions.MaxInFlight"/> bounds. <see cref="NotInTimeWindow"/> counts authentic
/// answers dropped as replays (RFC 3414 §3.2 step 7b).
/// </summary>
internal sealed record SnmpStatistics(
    long Sent,
    long Received,
    long Unmatched,
    long Malformed,
    long AuthenticationFailures,
    long WrongEngine,
    long NotInTimeWindow,
    long Refused,
    long Requests,
    int PeakInFlight);
