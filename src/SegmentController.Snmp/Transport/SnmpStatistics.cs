namespace SegmentController.Snmp.Transport;

/// <summary>Counts of datagrams a client dropped, for diagnosis of hostile or broken peers.</summary>
internal sealed record SnmpStatistics(
    long Sent,
    long Received,
    long Unmatched,
    long Malformed,
    long AuthenticationFailures,
    long WrongEngine,
    long Refused);
