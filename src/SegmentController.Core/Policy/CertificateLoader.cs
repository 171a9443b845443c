using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SegmentController.Core.Policy;

/// <summary>Loads the certificate a <see cref="CertificateReference"/> points at.</summary>
public static class CertificateLoader
{
    /// <summary>
    /// The largest certificate or key file read. A certificate with its chain is a few kilobytes; the cap keeps a
    /// path that names something else (a device such as <c>/dev/zero</c>, a log) from being read without end.
    /// </summary>
    public const int MaxFileBytes = 1024 * 1024;

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
                // The password first: a start without the environment that holds it says so, whatever the file.
                var password = reference.Password?.Resolve();
                certificate = X509CertificateLoader.LoadPkcs12(ReadBounded(reference.File, "certificate file"), password);
            }
            else
            {
                var certificatePem = Encoding.UTF8.GetString(ReadBounded(reference.File, "certificate file"));
                var keyPem = reference.KeyFile is { } keyFile ? Encoding.UTF8.GetString(ReadBounded(keyFile, "key file")) : certificatePem;
                certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
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

    /// <summary>
    /// The text of a PEM file (a CA bundle), read at most <see cref="MaxFileBytes"/>; <paramref name="role"/> names
    /// it in the error.
    /// </summary>
    /// <exception cref="IOException">The file cannot be read, or is larger than <see cref="MaxFileBytes"/>.</exception>
    public static string ReadPem(string path, string role)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Encoding.UTF8.GetString(ReadBounded(path, role));
    }

    /// <summary>The file's bytes, at most <see cref="MaxFileBytes"/>; <paramref name="role"/> names it in the error.</summary>
    private static byte[] ReadBounded(string path, string role) =>
        BoundedFile.Read(path, MaxFileBytes) ?? throw new IOException($"the {role} is larger than {MaxFileBytes / (1024 * 1024)} MiB");
}
