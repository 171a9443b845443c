namespace SegmentController.Core.Policy;

/// <summary>USM authentication protocols, named as net-snmp names them.</summary>
public enum SnmpAuthProtocol
{
    /// <summary>HMAC-MD5-96 (legacy).</summary>
    Md5,

    /// <summary>HMAC-SHA-96.</summary>
    Sha1,

    /// <summary>HMAC-SHA-224 (usmHMAC128SHA224AuthProtocol).</summary>
    Sha224,

    /// <summary>HMAC-SHA-256 (usmHMAC192SHA256AuthProtocol).</summary>
    Sha256,

    /// <summary>HMAC-SHA-384 (usmHMAC256SHA384AuthProtocol).</summary>
    Sha384,

    /// <summary>HMAC-SHA-512 (usmHMAC384SHA512AuthProtocol).</summary>
    Sha512,
}
