namespace SegmentController.Snmp.Protocol;

/// <summary>PDU tags (context-specific, constructed) of RFC 3416.</summary>
internal enum PduType
{
    GetRequest = 0,
    GetNextRequest = 1,
    Response = 2,
    SetRequest = 3,
    GetBulkRequest = 5,
    InformRequest = 6,
    SnmpV2Trap = 7,
    Report = 8,
}
