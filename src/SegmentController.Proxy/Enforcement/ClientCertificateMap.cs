using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// Maps an agent's client certificate to the one client it belongs to, for one policy: the certificate
/// must chain to the policy's client CA bundle (<c>controller.proxy.client_ca</c>, clientAuth usage
/// where the certificate states usages) and match the <c>agent_certificates</c> of exactly one client.
/// A bundle that cannot be read trusts nothing: every agent is refused until it is fixed (fail closed).
/// </summary>
internal sealed class ClientCertificateMap
{
    // Distinct certificates a site's agents present; a flood of fresh ones resets the cache, not memory.
    private const int MaxCachedChains = 4096;
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private readonly X509Certificate2Collection _trust = [];
    private readonly (string Client, AgentCertificates Certificates)[] _clients;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, string?> _chainProblems = new(StringComparer.Ordinal);

    public ClientCertificateMap(SitePolicy policy, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        var proxy = policy.Controller.Proxy;
        Required = proxy.RequireClientCertificate;
        _clients = [.. policy.Clients.Select(c => (c.Id, c.AgentCertificates))];
        if (!Required)
        {
            return;
        }

        if (proxy.ClientCaFile is not { } path)
        {
            LoadError = "controller.proxy.client_ca is not set";
            return;
        }

        try
        {
            // Read as every file the policy names: a regular file of at most 1 MiB, never a pipe or a device waited on.
            _trust.ImportFromPem(CertificateLoader.ReadPem(path, "bundle"));
            if (_trust.Count == 0)
            {
                LoadError = $"client CA bundle {path} (controller.proxy.client_ca) holds no certificate";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            _trust.Clear();
            LoadError = $"client CA bundle {path} (controller.proxy.client_ca) cannot be read: {e.Message}";
        }
    }

    /// <summary>True when agents must present a certificate of their own client.</summary>
    public bool Required { get; }

    /// <summary>Why the CA bundle is not usable (then every certificate is refused); null when it is.</summary>
    public string? LoadError { get; }

    /// <summary>
    /// The identity a request's record and checks carry: none when the agent presented no certificate and none is
    /// required, otherwise <see cref="Identify"/>'s.
    /// </summary>
    public AgentIdentity? IdentityOf(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate) =>
        certificate is null && !Required ? null : Identify(certificate);

    /// <summary>Describes the certificate and, when certificates are required, maps it to its client.</summary>
    public AgentIdentity Identify(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return AgentIdentity.None;
        }

        var described = new AgentIdentity
        {
            Subject = certificate.Subject,
            Fingerprint = CertificateFingerprint.Of(certificate),
        };
        if (!Required)
        {
            return described with { Problem = "client certificates are not required" };
        }

        if (LoadError is not null)
        {
            return described with { Problem = $"presented a certificate that cannot be checked: {LoadError}" };
        }

        var now = _time.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            return described with { Problem = "presented a certificate outside its validity period" };
        }

        if (ChainProblem(certificate, described.Fingerprint) is { } problem)
        {
            return described with { Problem = $"presented a certificate not issued under the client CA bundle ({problem})" };
        }

        var matches = _clients
            .Where(c => c.Certificates.Fingerprints.Contains(described.Fingerprint, StringComparer.Ordinal)
                || c.Certificates.Subjects.Any(s => s.Matches(certificate.SubjectName)))
            .Select(c => c.Client)
            .ToArray();
        return matches.Length switch
        {
            1 => described with { Client = matches[0] },
            0 => described with { Problem = "presented a certificate that identifies no client" },
            _ => described with { Problem = $"presented a certificate that matches several clients ({string.Join(", ", matches)}); it identifies none" },
        };
    }

    private string? ChainProblem(X509Certificate2 certificate, string fingerprint)
    {
        if (_chainProblems.TryGetValue(fingerprint, out var cached))
        {
            return cached;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trust);
        chain.ChainPolicy.ExtraStore.AddRange(_trust);
        // No CRL or OCSP is configured for agent CAs (see the proxy README); revoke by removing the match.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        string? problem;
        try
        {
            problem = chain.Build(certificate)
                ? null
                : string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal)) is { Length: > 0 } text ? text : "untrusted";
        }
        catch (CryptographicException e)
        {
            problem = e.Message;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }

        if (_chainProblems.Count >= MaxCachedChains)
        {
            _chainProblems.Clear();
        }

        _chainProblems[fingerprint] = problem;
        return problem;
    }
}
