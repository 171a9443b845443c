using System.Globalization;
using System.Text.Json;
using SegmentController.Capture;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Health;
using SegmentController.Metrics;

namespace SegmentController.Audits;

/// <summary>
/// Audit evidence from passive capture in the audit window: the capture must be running on every
/// configured interface, its loss since the previous audit at or below the policy's threshold (otherwise
/// what it did not see is unknown: indeterminate), and the findings it recorded in the window (read from
/// the evidence store, the authoritative copy) must hold nothing high or critical for the client.
/// </summary>
internal sealed class CaptureAuditEvidence(IEvidenceStore store, VerificationHealth health, ControllerMetrics metrics) : IAuditEvidenceSource
{
    public const string SourceName = "capture";

    /// <summary>
    /// Distinct (rule, clients) groups reported one by one; beyond them, the findings of each rule are summed into
    /// one check naming every client they name, so that no client's finding goes unjudged.
    /// </summary>
    private const int MaxGroups = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (double Packets, double Dropped)> _lastSample = new(StringComparer.Ordinal);

    public string Name => SourceName;

    public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        var settings = scope.Policy.Controller.Capture;
        if (settings.Interfaces.Count == 0)
        {
            return [new AuditCheck(Name, "capture", [], AuditOutcome.Pass, "the policy names no capture interface: passive capture is not part of this site's evidence")];
        }

        var checks = new List<AuditCheck>();
        progress.Report(string.Create(CultureInfo.InvariantCulture, $"capture: {settings.Interfaces.Count} interface(s), findings since {scope.WindowStart:yyyy-MM-ddTHH:mm:ssZ}"));
        if (!health.Snapshot().TryGetValue(CaptureService.HealthSource, out var state))
        {
            checks.Add(new AuditCheck(Name, "capture running", [], AuditOutcome.Indeterminate, "capture is configured but not running in this controller"));
        }
        else if (!state.Healthy)
        {
            checks.Add(new AuditCheck(Name, "capture running", [], AuditOutcome.Indeterminate, $"capture is not verifying: {state.Detail} (since {state.Since:yyyy-MM-ddTHH:mm:ssZ})"));
        }
        else
        {
            checks.Add(new AuditCheck(Name, "capture running", [], AuditOutcome.Pass, state.Detail));
        }

        if (state?.EvidenceLostAt is { } lost && lost >= scope.WindowStart)
        {
            // What capture found then is not in the store: the window's findings cannot be judged from it.
            checks.Add(new AuditCheck(Name, "capture findings recorded", [], AuditOutcome.Indeterminate, string.Create(CultureInfo.InvariantCulture, $"findings of capture could not be recorded at {lost:yyyy-MM-ddTHH:mm:ssZ}, inside the audit window: the window's evidence is incomplete")));
        }

        checks.Add(LossCheck(settings.Interfaces.Select(i => i.Name).ToArray(), settings.LossThreshold));
        checks.AddRange(await FindingChecksAsync(scope, cancellationToken).ConfigureAwait(false));
        return checks;
    }

    /// <summary>Loss since the previous audit (or since start), from the counters the capture exports.</summary>
    private AuditCheck LossCheck(IReadOnlyList<string> interfaces, double threshold)
    {
        var worst = (Name: "", Loss: 0.0, Packets: 0.0, Dropped: 0.0);
        lock (_lock)
        {
            foreach (var name in interfaces)
            {
                var packets = metrics.CapturePacketsTotal.WithLabels(name).Value;
                var dropped = metrics.CaptureDroppedTotal.WithLabels(name).Value;
                var (lastPackets, lastDropped) = _lastSample.GetValueOrDefault(name);
                _lastSample[name] = (packets, dropped);
                var seen = Math.Max(0, packets - lastPackets);
                var lost = Math.Max(0, dropped - lastDropped);
                var loss = seen + lost == 0 ? 0 : lost / (seen + lost);
                if (worst.Name.Length == 0 || loss > worst.Loss)
                {
                    worst = (name, loss, seen, lost);
                }
            }
        }

        var detail = string.Create(CultureInfo.InvariantCulture, $"worst interface {worst.Name}: {worst.Dropped:0} of {worst.Packets + worst.Dropped:0} frames lost ({worst.Loss:P3}); threshold {threshold:P3}");
        return worst.Loss > threshold
            ? new AuditCheck(Name, "capture loss", [], AuditOutcome.Indeterminate, "loss above threshold: what was not captured is unknown; " + detail)
            : new AuditCheck(Name, "capture loss", [], AuditOutcome.Pass, detail);
    }

    private async Task<IReadOnlyList<AuditCheck>> FindingChecksAsync(AuditScope scope, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<string, (string Rule, string[] Clients, int Count, string Summary, bool Degraded)>(StringComparer.Ordinal);
        var beyond = new Dictionary<string, (HashSet<string> Clients, bool Everyone, int Count, string Summary)>(StringComparer.Ordinal);
        var query = new RecordQuery { Type = RecordTypes.Finding, From = scope.WindowStart, To = scope.WindowEnd };
        await foreach (var record in store.ReadAsync(query, cancellationToken).ConfigureAwait(false))
        {
            if (record.Payload is not { } payload || Parse(payload) is not { } finding)
            {
                continue;
            }

            if (finding.Source != "capture" || finding.Severity is not ("critical" or "high"))
            {
                continue;
            }

            // An update (fresh counts of a finding made earlier, perhaps before the window) shows the
            // violation went on in the window; it is not another finding.
            var count = finding.Update ? 0 : 1;
            var key = finding.Rule + "|" + string.Join(',', finding.Clients);
            if (groups.TryGetValue(key, out var group))
            {
                groups[key] = group with { Count = group.Count + count };
            }
            else if (groups.Count < MaxGroups)
            {
                groups[key] = (finding.Rule, finding.Clients, count, finding.Summary, finding.Rule == RuleIds.CaptureDegraded);
            }
            else if (beyond.TryGetValue(finding.Rule, out var more))
            {
                more.Clients.UnionWith(finding.Clients);
                beyond[finding.Rule] = more with { Everyone = more.Everyone || finding.Clients.Length == 0, Count = more.Count + count };
            }
            else
            {
                beyond[finding.Rule] = (new HashSet<string>(finding.Clients, StringComparer.Ordinal), finding.Clients.Length == 0, count, finding.Summary);
            }
        }

        if (groups.Count == 0)
        {
            return [new AuditCheck(Name, "capture findings", [], AuditOutcome.Pass, "no high or critical capture finding recorded in the window")];
        }

        // A degraded capture is missing evidence, not a violation; every other finding is a failure.
        return groups.Values
            .OrderBy(g => g.Rule, StringComparer.Ordinal)
            .Select(g => new AuditCheck(
                Name,
                $"capture {g.Rule}",
                g.Clients,
                g.Degraded ? AuditOutcome.Indeterminate : AuditOutcome.Fail,
                g.Count == 0
                    ? $"reported before the window and still seen in it, e.g. {g.Summary}"
                    : string.Create(CultureInfo.InvariantCulture, $"{g.Count} finding(s) in the window, e.g. {g.Summary}")))
            .Concat(beyond
                .OrderBy(b => b.Key, StringComparer.Ordinal)
                .Select(b => new AuditCheck(
                    Name,
                    $"capture {b.Key} (beyond {MaxGroups} groups)",
                    b.Value.Everyone ? [] : b.Value.Clients.Order(StringComparer.Ordinal).ToArray(),
                    b.Key == RuleIds.CaptureDegraded ? AuditOutcome.Indeterminate : AuditOutcome.Fail,
                    string.Create(CultureInfo.InvariantCulture, $"{b.Value.Count} finding(s) in the window for clients beyond the {MaxGroups} groups listed one by one, e.g. {b.Value.Summary}"))))
            .ToArray();
    }

    private static (string Rule, string Severity, string Source, string[] Clients, string Summary, bool Update)? Parse(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("rule", out var rule) || rule.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("severity", out var severity) || severity.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var clients = root.TryGetProperty("clients", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!).ToArray()
                : [];
            var summary = root.TryGetProperty("summary", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
            var update = root.TryGetProperty("update", out var u) && u.ValueKind == JsonValueKind.True;
            return (rule.GetString()!, severity.GetString()!, source.GetString()!, clients, summary, update);
        }
        catch (JsonException)
        {
            // Not a finding this version can read: the chain verification judges the record, not us.
            return null;
        }
    }
}
