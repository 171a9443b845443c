namespace SegmentController.Core.Policy;

/// <summary>The SNMP protocol version.</summary>
public enum SnmpVersion
{
    /// <summary>SNMPv2c (community).</summary>
    V2c,

    /// <summary>SNMPv3 (USM).</summary>
    V3,
}
