namespace SegmentController.Core.Policy;

/// <summary>A certificate on disk (PKCS#12, or PEM with a key file) and where its password lives.</summary>
public sealed record CertificateReference
{
    /// <summary>The certificate file (.pfx/.p12 or .pem/.crt).</summary>
    public required string File { get; init; }

    /// <summary>The private key file, for PEM certificates.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Where the PKCS#12 password lives, if it has one.</summary>
    public SecretReference? Password { get; init; }
}
