using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// Outbound TLS: 1.2 or 1.3 only, and the upstream's certificate must chain to the system store or, when
/// the policy names a CA bundle, to that bundle alone. Never "accept any".
/// </summary>
internal static class UpstreamTls
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Client options for one upstream connection pool, trusting <paramref name="trust"/> (null: the system store).</summary>
    public static SslClientAuthenticationOptions CreateOptions(X509ChainPolicy? trust) => new()
    {
        EnabledSslProtocols = Protocols,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = trust?.Clone(),
    };

    /// <summary>Client options for one upstream connection pool.</summary>
    /// <exception cref="InvalidOperationException">The CA bundle is unreadable or holds no certificate.</exception>
    public static SslClientAuthenticationOptions CreateOptions(string? caFile)
    {
        var options = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (caFile is not null)
        {
            options.CertificateChainPolicy = CreateChainPolicy(caFile);
        }

        return options;
    }

    /// <summary>
    /// A chain policy trusting exactly the certificates in a PEM bundle, read as every file the policy names is
    /// (<see cref="CertificateLoader.ReadPem"/>: a regular file of at most 1 MiB, never a pipe or a device waited on).
    /// </summary>
    /// <exception cref="InvalidOperationException">The bundle cannot be read or holds no certificate; the message names the file and its key.</exception>
    public static X509ChainPolicy CreateChainPolicy(string caFile)
    {
        var trusted = new X509Certificate2Collection();
        try
        {
            trusted.ImportFromPem(CertificateLoader.ReadPem(caFile, "bundle"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"upstream CA file {caFile} (controller.proxy.upstream_ca) cannot be read: {e.Message}", e);
        }

        if (trusted.Count == 0)
        {
            throw new InvalidOperationException($"upstream CA file {caFile} (controller.proxy.upstream_ca) holds no certificate");
        }

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // Lab and private CAs publish no CRL or OCSP; trust is pinned to the bundle instead.
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(trusted);
        return policy;
    }
}
