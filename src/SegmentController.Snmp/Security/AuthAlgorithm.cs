using System.Security.Cryptography;
using SegmentController.Core.Policy;

namespace SegmentController.Snmp.Security;

/// <summary>The USM authentication protocols: hash, HMAC and truncated digest length (RFC 3414, RFC 7860).</summary>
internal static class AuthAlgorithm
{
    public static int DigestLength(SnmpAuthProtocol protocol) => protocol switch
    {
        SnmpAuthProtocol.Md5 or SnmpAuthProtocol.Sha1 => 12,
        SnmpAuthProtocol.Sha224 => 16,
        SnmpAuthProtocol.Sha256 => 24,
        SnmpAuthProtocol.Sha384 => 32,
        SnmpAuthProtocol.Sha512 => 48,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    public static HashAlgorithmName HashName(SnmpAuthProtocol protocol) => protocol switch
    {
        SnmpAuthProtocol.Md5 => HashAlgorithmName.MD5,
        SnmpAuthProtocol.Sha1 => HashAlgorithmName.SHA1,
        // .NET has no SHA-224; RFC 7860's SHA-224 is handled by Sha224 below.
        SnmpAuthProtocol.Sha224 => new HashAlgorithmName("SHA224"),
        SnmpAuthProtocol.Sha256 => HashAlgorithmName.SHA256,
        SnmpAuthProtocol.Sha384 => HashAlgorithmName.SHA384,
        SnmpAuthProtocol.Sha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    public static bool IsLegacy(SnmpAuthProtocol protocol) => protocol == SnmpAuthProtocol.Md5;

    /// <summary>The net-snmp spelling (<c>SHA</c>, <c>SHA-256</c>, <c>MD5</c>, ...).</summary>
    public static string Name(SnmpAuthProtocol protocol) => protocol switch
    {
        SnmpAuthProtocol.Md5 => "MD5",
        SnmpAuthProtocol.Sha1 => "SHA",
        SnmpAuthProtocol.Sha224 => "SHA-224",
        SnmpAuthProtocol.Sha256 => "SHA-256",
        SnmpAuthProtocol.Sha384 => "SHA-384",
        SnmpAuthProtocol.Sha512 => "SHA-512",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    public static SnmpAuthProtocol Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToUpperInvariant() switch
        {
            "MD5" => SnmpAuthProtocol.Md5,
            "SHA" or "SHA1" or "SHA-1" => SnmpAuthProtocol.Sha1,
            "SHA-224" or "SHA224" => SnmpAuthProtocol.Sha224,
            "SHA-256" or "SHA256" => SnmpAuthProtocol.Sha256,
            "SHA-384" or "SHA384" => SnmpAuthProtocol.Sha384,
            "SHA-512" or "SHA512" => SnmpAuthProtocol.Sha512,
            _ => throw new FormatException($"unknown authentication protocol '{name}' (use SHA, SHA-224, SHA-256, SHA-384, SHA-512 or MD5)"),
        };
    }

    public static byte[] Hash(SnmpAuthProtocol protocol, ReadOnlySpan<byte> data) => protocol switch
    {
        SnmpAuthProtocol.Md5 => HashMd5(data),
        SnmpAuthProtocol.Sha1 => HashSha1(data),
        SnmpAuthProtocol.Sha224 => Sha224.Hash(data),
        SnmpAuthProtocol.Sha256 => SHA256.HashData(data),
        SnmpAuthProtocol.Sha384 => SHA384.HashData(data),
        SnmpAuthProtocol.Sha512 => SHA512.HashData(data),
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    /// <summary>The full HMAC over <paramref name="data"/>; the caller truncates to <see cref="DigestLength"/>.</summary>
    public static byte[] Hmac(SnmpAuthProtocol protocol, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => protocol switch
    {
        SnmpAuthProtocol.Md5 => HmacMd5(key, data),
        SnmpAuthProtocol.Sha1 => HmacSha1(key, data),
        SnmpAuthProtocol.Sha224 => Sha224.Hmac(key, data),
        SnmpAuthProtocol.Sha256 => HMACSHA256.HashData(key, data),
        SnmpAuthProtocol.Sha384 => HMACSHA384.HashData(key, data),
        SnmpAuthProtocol.Sha512 => HMACSHA512.HashData(key, data),
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    // MD5 and SHA-1 are what RFC 3414 defines; they are used only where the policy allows legacy SNMP.
#pragma warning disable CA5350, CA5351
    private static byte[] HashMd5(ReadOnlySpan<byte> data) => MD5.HashData(data);

    private static byte[] HashSha1(ReadOnlySpan<byte> data) => SHA1.HashData(data);

    private static byte[] HmacMd5(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => HMACMD5.HashData(key, data);

    private static byte[] HmacSha1(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => HMACSHA1.HashData(key, data);
#pragma warning restore CA5350, CA5351
}
