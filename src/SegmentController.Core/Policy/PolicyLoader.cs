using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SegmentController.Core.Policy.Loading;
using SegmentController.Core.Policy.Validation;

namespace SegmentController.Core.Policy;

/// <summary>
/// Reads a site policy from YAML and validates it. Bad input never throws: the result carries every
/// error at the position of the node it concerns (<c>file:line:col: message</c>).
/// </summary>
public static class PolicyLoader
{
    /// <summary>Policy files larger than this are refused unread (a policy is a few kilobytes).</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>Reads and validates the policy file at <paramref name="path"/>.</summary>
    public static PolicyLoadResult LoadFile(string path) => LoadFile(path, readReferencedFiles: false);

    /// <summary>
    /// Reads and validates the policy file at <paramref name="path"/>; with <paramref name="readReferencedFiles"/>
    /// also reads the CA bundles it names (<c>controller.proxy.upstream_ca</c>, <c>client_ca</c>): one that
    /// cannot be read or holds no PEM certificate is an error at its key, as the proxy could not serve the policy.
    /// The certificates it serves (<c>controller.proxy.certificate</c>, <c>controller.management.certificate</c>)
    /// are loaded as <c>segctl run</c> loads them, with their private keys; a PKCS#12 file whose password
    /// variable is not set here (one only the service's environment sets) is only read, while a password file
    /// that cannot be read is an error at its key.
    /// </summary>
    public static PolicyLoadResult LoadFile(string path, bool readReferencedFiles)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var read = BoundedFile.Read(path, MaxFileBytes);
            if (read is null)
            {
                return Invalid(path, $"the policy file is larger than {MaxFileBytes / (1024 * 1024)} MiB; a site policy is a few kilobytes");
            }

            bytes = read;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException or System.Security.SecurityException)
        {
            return new PolicyLoadResult
            {
                Unreadable = true,
                Errors = [new PolicyError { File = path, Message = $"cannot read the policy file: {Describe(e, path)}" }],
            };
        }

        return Load(bytes, path, readReferencedFiles);
    }

    /// <summary>Validates policy text already in memory; <paramref name="sourcePath"/> names it in errors.</summary>
    public static PolicyLoadResult Load(ReadOnlySpan<byte> bytes, string sourcePath) => Load(bytes, sourcePath, readReferencedFiles: false);

    private static PolicyLoadResult Load(ReadOnlySpan<byte> bytes, string sourcePath, bool readReferencedFiles)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        if (bytes.Length > MaxFileBytes)
        {
            return Invalid(sourcePath, $"the policy file is larger than {MaxFileBytes / (1024 * 1024)} MiB; a site policy is a few kilobytes");
        }

        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Invalid(sourcePath, "the policy file is not UTF-8 text");
        }

        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var diagnostics = new PolicyDiagnostics();
        var root = YamlDocumentReader.Read(text, diagnostics);
        SitePolicy? policy = null;
        if (root is not null)
        {
            var reader = new PolicyReader(diagnostics);
            policy = reader.Read(root);
            if (policy is not null)
            {
                PolicyValidator.Validate(reader.Facts, diagnostics);
                if (readReferencedFiles)
                {
                    CheckCaBundles(reader.Facts, diagnostics);
                    CheckCertificates(reader.Facts, diagnostics);
                }
            }
        }

        if (diagnostics.HasErrors || policy is null)
        {
            return new PolicyLoadResult { Errors = diagnostics.ToErrors(sourcePath) };
        }

        return new PolicyLoadResult
        {
            Policy = policy with
            {
                SourcePath = sourcePath,
                Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            },
        };
    }

    private static void CheckCaBundles(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        foreach (var bundle in facts.CaBundles)
        {
            var certificates = new X509Certificate2Collection();
            try
            {
                certificates.ImportFromPem(CertificateLoader.ReadPem(bundle.Value, "bundle"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or NotSupportedException)
            {
                diagnostics.Add(bundle.At, $"{bundle.Client} '{YamlMap.Printable(bundle.Value)}' cannot be read as a PEM bundle of CA certificates: {Describe(e, bundle.Value)}");
                continue;
            }

            if (certificates.Count == 0)
            {
                diagnostics.Add(bundle.At, $"{bundle.Client} '{YamlMap.Printable(bundle.Value)}' holds no PEM certificate");
            }

            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    private static void CheckCertificates(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        foreach (var claim in facts.Certificates)
        {
            var (reference, keyFileAt, passwordAt) = claim.Value;
            if (Unreadable(reference.File) is { } fileProblem)
            {
                diagnostics.Add(claim.At, $"{claim.Client} certificate file '{YamlMap.Printable(reference.File)}' cannot be read: {fileProblem}");
                continue;
            }

            if (reference.KeyFile is { } keyFile && keyFileAt is { } at && Unreadable(keyFile) is { } keyProblem)
            {
                diagnostics.Add(at, $"{claim.Client} certificate key file '{YamlMap.Printable(keyFile)}' cannot be read: {keyProblem}");
                continue;
            }

            // A password file is on this machine as the certificate is; only a variable may be one the
            // service's environment alone sets.
            if (reference.Password is { Source: SecretSource.File } passwordFile && passwordAt is { } passwordPosition
                && (Unreadable(passwordFile.Name) ?? Unresolved(passwordFile)) is { } passwordProblem)
            {
                diagnostics.Add(passwordPosition, $"{claim.Client} certificate password file '{YamlMap.Printable(passwordFile.Name)}' cannot be read: {passwordProblem}");
                continue;
            }

            if (reference.Password is { } password && Unresolved(password) is not null)
            {
                continue;
            }

            try
            {
                using var certificate = CertificateLoader.Load(reference);
            }
            catch (InvalidOperationException e)
            {
                var reason = e.InnerException is CryptographicException or ArgumentException or IOException ? e.InnerException.Message : e.Message;
                diagnostics.Add(claim.At, $"{claim.Client} certificate '{YamlMap.Printable(reference.File)}' cannot be loaded: {YamlMap.Printable(reason)}");
            }
        }
    }

    /// <summary>Null when the file is a regular file that can be opened for reading, else why not.</summary>
    private static string? Unreadable(string path)
    {
        try
        {
            using var stream = BoundedFile.OpenRegular(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Describe(e, path);
        }
    }

    /// <summary>Null when the secret resolves, else why not (for a file, the reading's own reason).</summary>
    private static string? Unresolved(SecretReference secret)
    {
        try
        {
            _ = secret.Resolve();
            return null;
        }
        catch (SecretUnavailableException e)
        {
            return e.InnerException?.Message ?? e.Message;
        }
    }

    private static PolicyLoadResult Invalid(string path, string message) =>
        new() { Errors = [new PolicyError { File = path, Message = message }] };

    private static string Describe(Exception e, string path) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException when Directory.Exists(path) => "it is a directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
