namespace SegmentController.Snmp.Protocol;

/// <summary>UsmSecurityParameters of RFC 3414 §2.4.</summary>
internal sealed record UsmSecurityParameters(byte[] EngineId, int EngineBoots, int EngineTime, byte[] UserName, byte[] AuthParams, byte[] PrivParams);
