using System.Collections.Concurrent;
using SegmentController.Core.Findings;
using SegmentController.Core.Suspension;

namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// Publishes the proxy's findings, one per rule, source and target per window — an agent hammering the
/// wrong host makes one finding, not thousands. A suspension of a client the finding names that was lifted
/// since the last one ends the window: a restored requester that tries again is judged again, not let off
/// for the rest of the minute.
/// </summary>
internal sealed class ProxyFindings
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private const int MaxKeys = 10_000;

    private readonly IFindingSink _sink;
    private readonly ISuspensionView _suspensions;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Published> _lastPublished = new(StringComparer.Ordinal);

    public ProxyFindings(IFindingSink sink, ISuspensionView suspensions, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(suspensions);
        ArgumentNullException.ThrowIfNull(time);
        _sink = sink;
        _suspensions = suspensions;
        _time = time;
    }

    public ValueTask CrossClientAsync(string sourceClient, string routeClient, string source, string method, string host, string path, CancellationToken cancellationToken) =>
        PublishAsync(
            RuleIds.CrossClientRequest,
            [sourceClient],
            $"{source} in {sourceClient}'s segment requested {host}{path}, which belongs to {routeClient}",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["src"] = source,
                ["method"] = method,
                ["host"] = host,
                ["path"] = path,
                ["target_client"] = routeClient,
            },
            $"{source}|{routeClient}",
            cancellationToken);

    public ValueTask UnknownSourceAsync(string source, string method, string host, string path, CancellationToken cancellationToken) =>
        PublishAsync(
            RuleIds.UnknownSource,
            [],
            $"{source} is in no client segment and requested {host}{path}",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["src"] = source,
                ["method"] = method,
                ["host"] = host,
                ["path"] = path,
            },
            source,
            cancellationToken);

    public ValueTask CrossClientCertificateAsync(string sourceClient, string source, AgentIdentity identity, string method, string host, string path, CancellationToken cancellationToken) =>
        PublishAsync(
            RuleIds.CrossClientRequest,
            [sourceClient],
            $"{source} in {sourceClient}'s segment presented the client certificate of {identity.Client} ({identity.Subject}) and asked for {host}{path}",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["src"] = source,
                ["method"] = method,
                ["host"] = host,
                ["path"] = path,
                ["target_client"] = identity.Client,
                ["certificate_subject"] = identity.Subject,
                ["certificate_sha256"] = identity.Fingerprint,
            },
            $"{source}|certificate|{identity.Fingerprint}",
            cancellationToken);

    public ValueTask UnknownIdentityAsync(string sourceClient, string source, AgentIdentity identity, string method, string host, string path, CancellationToken cancellationToken) =>
        PublishAsync(
            RuleIds.UnknownSource,
            [sourceClient],
            $"{source} in {sourceClient}'s segment {identity.Problem}; refused {host}{path}",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["src"] = source,
                ["method"] = method,
                ["host"] = host,
                ["path"] = path,
                ["certificate_subject"] = identity.Subject,
                ["certificate_sha256"] = identity.Fingerprint,
                ["problem"] = identity.Problem,
            },
            $"{source}|identity|{identity.Fingerprint ?? "none"}",
            cancellationToken);

    public ValueTask WeakUpstreamTlsAsync(string client, string upstream, string detail, CancellationToken cancellationToken) =>
        PublishAsync(
            RuleIds.WeakUpstreamTls,
            [client],
            $"upstream {upstream} of {client} offers no TLS 1.2 or 1.3; refused",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["upstream"] = upstream,
                ["detail"] = detail,
            },
            upstream,
            cancellationToken);

    private async ValueTask PublishAsync(string rule, string[] clients, string summary, Dictionary<string, object?> evidence, string key, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var dedupeKey = rule + "|" + key;
        var lifted = LastLifted(clients);
        if (_lastPublished.TryGetValue(dedupeKey, out var last) && now - last.At < Window && last.Lifted == lifted)
        {
            return;
        }

        if (_lastPublished.Count >= MaxKeys)
        {
            _lastPublished.Clear();
        }

        _lastPublished[dedupeKey] = new Published(now, lifted);
        await _sink.PublishAsync([Finding.Create(rule, clients, summary, evidence, now)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The latest lift of a suspension covering any of these clients, as the engine stamped it.</summary>
    private DateTimeOffset? LastLifted(string[] clients)
    {
        if (clients.Length == 0)
        {
            return null;
        }

        var state = _suspensions.Current;
        DateTimeOffset? latest = null;
        foreach (var client in clients)
        {
            if (state.LiftedAt(client) is { } at && (latest is null || at > latest))
            {
                latest = at;
            }
        }

        return latest;
    }

    /// <summary>When a finding was last published for a key, and the latest lift of its clients' suspensions then.</summary>
    private readonly record struct Published(DateTimeOffset At, DateTimeOffset? Lifted);
}
