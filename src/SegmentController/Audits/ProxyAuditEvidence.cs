using System.Security.Authentication;
using SegmentController.Core.Audits;
using SegmentController.Core.Policy;
using SegmentController.Proxy;
using SegmentController.Proxy.Configuration;
using SegmentController.Proxy.Forwarding;
using Yarp.ReverseProxy.Configuration;

namespace SegmentController.Audits;

/// <summary>
/// Audit evidence from the inline proxy as it runs: each listener, handshaken with, refuses TLS 1.0 and
/// 1.1 and completes TLS 1.2 with the configured certificate; the upstream leg's TLS options allow 1.2 or
/// better; and for each client every upstream of the policy is routed (hosts, path prefixes, https
/// destinations) to that client and to no other. A client with upstreams while no proxy runs has no
/// evidence (indeterminate).
/// </summary>
internal sealed class ProxyAuditEvidence(IServiceProvider services) : IAuditEvidenceSource
{
    public const string SourceName = "proxy";

    /// <summary>What is acceptable: TLS 1.2 and 1.3 (None would let the OS pick, which may be older).</summary>
    private const SslProtocols Strong = SslProtocols.Tls12 | SslProtocols.Tls13;

    public string Name => SourceName;

    public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        var policy = scope.Policy;
        var server = services.GetServices<IHostedService>().OfType<InlineProxyService>().FirstOrDefault()?.Server;
        var checks = new List<AuditCheck>();
        var routed = policy.Clients.Where(c => scope.Clients.Contains(c.Id, StringComparer.Ordinal)).ToArray();
        foreach (var client in routed.Where(c => c.Upstreams.Count == 0))
        {
            checks.Add(new AuditCheck(Name, "proxy routes", [client.Id], AuditOutcome.Pass, "the client has no upstreams: the proxy forwards nothing for it"));
        }

        var withUpstreams = routed.Where(c => c.Upstreams.Count > 0).Select(c => c.Id).ToArray();
        if (withUpstreams.Length == 0)
        {
            return checks;
        }

        if (server is null)
        {
            checks.Add(new AuditCheck(Name, "proxy running", withUpstreams, AuditOutcome.Indeterminate, "the inline proxy is not running in this controller: its TLS and routes cannot be examined"));
            return checks;
        }

        progress.Report("proxy: handshaking with the listeners (TLS 1.0 and 1.1 must be refused, 1.2 completed), examining routes");
        checks.AddRange(await ListenerChecksAsync(policy, server, cancellationToken).ConfigureAwait(false));
        checks.Add(UpstreamTlsCheck(policy));
        var config = server.RouteConfiguration;
        foreach (var client in routed.Where(c => c.Upstreams.Count > 0))
        {
            checks.AddRange(RouteChecks(policy, client, config));
        }

        return checks;
    }

    /// <summary>Every address the running proxy listens on, judged by handshakes against it (not by its settings).</summary>
    private async Task<IReadOnlyList<AuditCheck>> ListenerChecksAsync(SitePolicy policy, ProxyServer server, CancellationToken cancellationToken)
    {
        const string name = "proxy listener TLS";
        byte[] expected;
        try
        {
            using var certificate = CertificateLoader.Load(policy.Controller.Proxy.Certificate
                ?? throw new InvalidOperationException("controller.proxy.certificate is not set"));
            expected = System.Security.Cryptography.SHA256.HashData(certificate.RawData);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            return [new AuditCheck(Name, name, [], AuditOutcome.Indeterminate, $"the configured certificate cannot be read: {e.Message}")];
        }

        var addresses = server.Addresses;
        if (addresses.Count == 0)
        {
            return [new AuditCheck(Name, name, [], AuditOutcome.Indeterminate, "the proxy reports no listening address")];
        }

        var checks = new List<AuditCheck>();
        foreach (var address in addresses)
        {
            checks.Add(TlsListenerProbe.Dialable(address) is { } endpoint
                ? await TlsListenerProbe.CheckAsync(Name, name, endpoint, expected, cancellationToken).ConfigureAwait(false)
                : new AuditCheck(Name, name, [], AuditOutcome.Indeterminate, $"listener address {address} cannot be dialled"));
        }

        return checks;
    }

    /// <summary>The outbound TLS options the upstream pools are built with, from the policy in force.</summary>
    private AuditCheck UpstreamTlsCheck(SitePolicy policy)
    {
        const string name = "upstream TLS";
        SslProtocols protocols;
        try
        {
            protocols = UpstreamTls.CreateOptions(policy.Controller.Proxy.UpstreamCaFile).EnabledSslProtocols;
        }
        catch (InvalidOperationException e)
        {
            return new AuditCheck(Name, name, [], AuditOutcome.Fail, $"upstream connections cannot be made as configured: {e.Message}");
        }

        return (protocols & ~Strong) != 0 || protocols == SslProtocols.None
            ? new AuditCheck(Name, name, [], AuditOutcome.Fail, $"accepts {protocols}: older than TLS 1.2, or whatever the OS picks")
            : new AuditCheck(Name, name, [], AuditOutcome.Pass, $"minimum TLS 1.2 ({protocols})");
    }

    private IEnumerable<AuditCheck> RouteChecks(SitePolicy policy, ClientDefinition client, IProxyConfig config)
    {
        var clusters = config.Clusters.ToDictionary(c => c.ClusterId, StringComparer.Ordinal);
        foreach (var upstream in client.Upstreams)
        {
            var name = $"proxy route {client.Id}/{upstream.Name}";
            var routes = config.Routes.Where(r => Is(r.Metadata, client.Id, upstream.Name)).ToArray();
            var problems = new List<string>();
            if (routes.Length != upstream.PathPrefixes.Count)
            {
                problems.Add($"{routes.Length} route(s) served for {upstream.PathPrefixes.Count} path prefix(es)");
            }

            foreach (var route in routes)
            {
                if (!(route.Match.Hosts ?? []).Order(StringComparer.OrdinalIgnoreCase).SequenceEqual(upstream.Hosts.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase))
                {
                    problems.Add($"route {route.RouteId} matches hosts [{string.Join(", ", route.Match.Hosts ?? [])}], the policy [{string.Join(", ", upstream.Hosts)}]");
                }

                if (!clusters.TryGetValue(route.ClusterId ?? "", out var cluster) || !Is(cluster.Metadata, client.Id, upstream.Name))
                {
                    problems.Add($"route {route.RouteId} leads to cluster {route.ClusterId}, which is not {client.Id}'s");
                    continue;
                }

                var destinations = (cluster.Destinations ?? new Dictionary<string, DestinationConfig>()).Values.Select(d => d.Address).ToArray();
                foreach (var address in destinations.Where(a => !a.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
                {
                    problems.Add($"destination {address} is not https");
                }

                var expected = upstream.Destinations.Select(d => d.AbsoluteUri).Order(StringComparer.Ordinal);
                if (!destinations.Order(StringComparer.Ordinal).SequenceEqual(expected, StringComparer.Ordinal))
                {
                    problems.Add($"cluster {cluster.ClusterId} forwards to [{string.Join(", ", destinations)}], the policy [{string.Join(", ", upstream.Destinations)}]");
                }
            }

            yield return problems.Count == 0
                ? new AuditCheck(Name, name, [client.Id], AuditOutcome.Pass, $"{routes.Length} route(s) for {string.Join(", ", upstream.Hosts)} to {string.Join(", ", upstream.Destinations)} over https")
                : new AuditCheck(Name, name, [client.Id], AuditOutcome.Fail, string.Join("; ", problems.Distinct(StringComparer.Ordinal)));
        }

        // A route naming this client's hosts but owned by another client would hand its traffic away.
        var hosts = client.Upstreams.SelectMany(u => u.Hosts).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var foreign in config.Routes.Where(r => (r.Match.Hosts ?? []).Any(hosts.Contains) && !IsClient(r.Metadata, client.Id)))
        {
            var owner = foreign.Metadata?.GetValueOrDefault(ProxyMetadata.Client) ?? "no client";
            if (policy.FindClient(owner)?.Upstreams.SelectMany(u => u.Hosts).Any(hosts.Contains) == true)
            {
                continue; // Two clients sharing a host name is a policy matter; the validator judges it.
            }

            yield return new AuditCheck(Name, $"proxy route {foreign.RouteId}", [client.Id], AuditOutcome.Fail, $"route {foreign.RouteId} serves {client.Id}'s hosts for {owner}");
        }
    }

    private static bool Is(IReadOnlyDictionary<string, string>? metadata, string client, string upstream) =>
        IsClient(metadata, client) && metadata!.TryGetValue(ProxyMetadata.Upstream, out var u) && string.Equals(u, upstream, StringComparison.Ordinal);

    private static bool IsClient(IReadOnlyDictionary<string, string>? metadata, string client) =>
        metadata is not null && metadata.TryGetValue(ProxyMetadata.Client, out var c) && string.Equals(c, client, StringComparison.Ordinal);
}
