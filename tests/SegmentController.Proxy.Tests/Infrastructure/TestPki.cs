using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>A throw-away CA and the certificates it issues, made in the test.</summary>
internal sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestPki(string directory, string name = "segctl test CA")
    {
        Directory = directory;
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        CaPemPath = Path.Combine(directory, $"ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(CaPemPath, Ca.ExportCertificatePem());
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    public string CaPemPath { get; }

    /// <summary>Trusts exactly this CA (never "accept any").</summary>
    public X509ChainPolicy ChainPolicy()
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(Ca);
        return policy;
    }

    /// <summary>Issues a server certificate for these names (and 127.0.0.1) and writes PEM files.</summary>
    public (X509Certificate2 Certificate, string CertPath, string KeyPath) IssueServer(string name, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
        {
            san.AddDnsName(dns);
        }

        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(Ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
        var withKey = issued.CopyWithPrivateKey(key);
        var certPath = Path.Combine(Directory, name + ".crt");
        var keyPath = Path.Combine(Directory, name + ".key");
        File.WriteAllText(certPath, withKey.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());

        // Kestrel on Linux takes the in-memory key; reload through PKCS#12 to get a persisted-style key handle.
        var reloaded = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        withKey.Dispose();
        return (reloaded, certPath, keyPath);
    }

    /// <summary>Issues an agent's client certificate (clientAuth) with this subject, key attached, valid from an hour ago for a day.</summary>
    public X509Certificate2 IssueClient(string subject) => IssueClient(subject, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));

    /// <summary>Issues an agent's client certificate (clientAuth) with this subject and validity period, key attached.</summary>
    public X509Certificate2 IssueClient(string subject, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
        using var issued = request.Create(Ca, notBefore, notAfter, RandomNumberGenerator.GetBytes(12));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose()
    {
        Ca.Dispose();
        _caKey.Dispose();
    }
}
