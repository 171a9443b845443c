using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SegmentController.Core.Policy;

/// <summary>Loads the certificate a <see cref="CertificateReference"/> points at.</summary>
public static class CertificateLoader
{
    /// <summary>Loads a PKCS#12 file (with its password, if any) or a PEM certificate and key.</summary>
    /// <exception cref="InvalidOperationException">The files are unreadable or not a certificate with a private key.</exception>
    public static X509Certificate2 Load(CertificateReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        try
        {
            var extension = Path.GetExtension(reference.File);
            X509Certificate2 certificate;
            if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(reference.File, reference.Password?.Resolve());
            }
            else
            {
                certificate = X509Certificate2.CreateFromPemFile(reference.File, reference.KeyFile);
            }

            if (!certificate.HasPrivateKey)
            {
                certificate.Dispose();
                throw new InvalidOperationException($"certificate {reference.File} has no private key");
            }

            return certificate;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or SecretUnavailableException or ArgumentException)
        {
            throw new InvalidOperationException($"certificate {reference.File} cannot be loaded: {e.Message}", e);
        }
    }
}
