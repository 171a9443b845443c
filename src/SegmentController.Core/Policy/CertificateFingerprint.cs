using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SegmentController.Core.Policy;

/// <summary>SHA-256 certificate fingerprints as the policy and the records write them.</summary>
public static class CertificateFingerprint
{
    /// <summary>The fingerprint of a certificate's DER encoding, lower-case hex without separators.</summary>
    public static string Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawDataMemory.Span));
    }

    /// <summary>
    /// Reads a fingerprint as people copy it (<c>openssl x509 -fingerprint -sha256</c> prints
    /// <c>AB:CD:…</c>; other tools print plain hex): 32 bytes in hex, with or without ':' between bytes,
    /// any case. Gives the lower-case form without separators, or null.
    /// </summary>
    public static string? Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[7..];
        }

        var hex = trimmed.Contains(':', StringComparison.Ordinal) ? trimmed.Replace(":", "", StringComparison.Ordinal) : trimmed;
        if (trimmed.Contains(':', StringComparison.Ordinal) && trimmed.Length != 32 * 3 - 1)
        {
            return null;
        }

        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            return null;
        }

        return hex.ToLowerInvariant();
    }
}
