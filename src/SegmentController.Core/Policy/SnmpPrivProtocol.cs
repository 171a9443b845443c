namespace SegmentController.Core.Policy;

/// <summary>USM privacy protocols, named as net-snmp names them.</summary>
public enum SnmpPrivProtocol
{
    /// <summary>CBC-DES (legacy).</summary>
    Des,

    /// <summary>CFB128-AES-128 (RFC 3826).</summary>
    Aes128,
}
