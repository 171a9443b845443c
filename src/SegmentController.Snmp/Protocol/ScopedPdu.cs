namespace SegmentController.Snmp.Protocol;

/// <summary>ScopedPDU of RFC 3412 §6.</summary>
internal sealed record ScopedPdu(byte[] ContextEngineId, byte[] ContextName, Pdu Pdu);
