using SegmentController.Core.Policy;

namespace SegmentController.Hosting;

/// <summary>
/// The policy keys a running controller reads once, at start-up: a reload validates and records them but
/// the process keeps what it started with (listeners and their certificates, the API keys file's path,
/// the evidence store, the capture interfaces, the upstream CA the webhooks trust). Everything else —
/// clients, segments, upstreams, switches, rules, restore and audit settings — applies on reload.
/// </summary>
internal static class RestartRequiredSettings
{
    private static readonly (string Key, Func<SitePolicy, string> Value)[] Settings =
    [
        ("controller.management.listen", p => string.Join(",", p.Controller.Management.Listen)),
        ("controller.management.certificate", p => Describe(p.Controller.Management.Certificate)),
        ("controller.management.api_keys_file", p => p.Controller.Management.ApiKeysFile ?? ""),
        ("controller.proxy.listen", p => string.Join(",", p.Controller.Proxy.Listen)),
        ("controller.proxy.certificate", p => Describe(p.Controller.Proxy.Certificate)),
        // The TLS handshake asks agents for a certificate or not from the start; the CA bundle itself reloads.
        ("controller.proxy.require_client_certificate", p => p.Controller.Proxy.RequireClientCertificate ? "true" : "false"),
        ("controller.proxy.upstream_ca", p => p.Controller.Proxy.UpstreamCaFile ?? ""),
        ("controller.capture.interfaces", p => string.Join(";", p.Controller.Capture.Interfaces)),
        ("controller.store.path", p => p.Controller.Store.Path),
        ("controller.store.signing_key_file", p => p.Controller.Store.SigningKeyFile ?? ""),
        ("controller.store.checkpoint_interval", p => p.Controller.Store.CheckpointInterval.ToString("c", System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>Every key this class watches, in policy order.</summary>
    public static IReadOnlyList<string> Keys { get; } = Settings.Select(s => s.Key).ToArray();

    /// <summary>The keys whose value in <paramref name="next"/> differs from the one the process started with.</summary>
    public static IReadOnlyList<string> Changed(SitePolicy started, SitePolicy next)
    {
        ArgumentNullException.ThrowIfNull(started);
        ArgumentNullException.ThrowIfNull(next);
        return Settings
            .Where(s => !string.Equals(s.Value(started), s.Value(next), StringComparison.Ordinal))
            .Select(s => s.Key)
            .ToArray();
    }

    // A certificate is where it is read from (files and the reference to its password), never a secret.
    private static string Describe(CertificateReference? certificate) =>
        certificate is null ? "" : $"{certificate.File}|{certificate.KeyFile}|{certificate.Password?.Source}:{certificate.Password?.Name}";
}
