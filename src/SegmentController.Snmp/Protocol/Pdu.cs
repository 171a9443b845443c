namespace SegmentController.Snmp.Protocol;

/// <summary>An SNMPv2 PDU. For GETBULK, <see cref="ErrorStatus"/> carries non-repeaters and <see cref="ErrorIndex"/> max-repetitions.</summary>
internal sealed record Pdu(PduType Type, int RequestId, int ErrorStatus, int ErrorIndex, IReadOnlyList<VarBind> VarBinds);
