namespace SegmentController.Core.Findings;

/// <summary>
/// One violation (or notable fact): one per rule per flow (capture) or per port (SNMP), with counts —
/// never one per packet.
/// </summary>
public sealed record Finding
{
    /// <summary>The rule id (see <see cref="RuleIds"/>).</summary>
    public required string Rule { get; init; }

    /// <summary>The severity.</summary>
    public required Severity Severity { get; init; }

    /// <summary>The kind of evidence.</summary>
    public required FindingSource Source { get; init; }

    /// <summary>The client ids affected, sorted.</summary>
    public required IReadOnlyList<string> Clients { get; init; }

    /// <summary>One sentence for people.</summary>
    public required string Summary { get; init; }

    /// <summary>
    /// Evidence fields. Capture: <c>vlans</c> (outer→inner), <c>src</c>, <c>dst</c>, <c>protocol</c>,
    /// <c>src_port</c>, <c>dst_port</c>, <c>packets</c>, <c>first_seen</c>, <c>last_seen</c>.
    /// SNMP: <c>switch</c>, <c>port</c>, <c>if_index</c>, <c>vlan</c>, <c>mac</c>. Values are strings,
    /// numbers, booleans, timestamps or lists of those.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Evidence { get; init; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>When the finding was made.</summary>
    public required DateTimeOffset ObservedAt { get; init; }

    /// <summary>
    /// True when this repeats a finding published before (same rule, same flow or episode) with fresh
    /// counts, last-seen time or evidence. An update is recorded in the store like any finding, but it is
    /// not counted in <c>segctl_findings_total</c> and opens no incident: those followed the first report.
    /// It trips a suspension only when the violation was still seen after the client's suspension was
    /// lifted (see <c>SuspensionFindingConsumer</c>).
    /// </summary>
    public bool Update { get; init; }

    /// <summary>
    /// Identifies what the finding is about across its updates (one flow's rule, one episode) within this
    /// process, so a view of recent findings can show the latest of each; null when it has none.
    /// </summary>
    public string? Key { get; init; }

    /// <summary>
    /// Clients the finding names without being theirs: the client whose system an agent of another asked
    /// for (evidence <c>target_client</c> of a <c>cross-client-request</c>). The finding is not theirs — it neither
    /// suspends them, nor opens them an incident, nor fails them an audit — but its records concern them: they are
    /// kept under their keys too, with a view for each (<see cref="FindingRecords"/>), so the requester's
    /// export names nothing of them and theirs shows the attempt on their systems.
    /// </summary>
    public IReadOnlyList<string> Targets =>
        Evidence.TryGetValue("target_client", out var target) && target is string id && id.Length > 0 && !Clients.Contains(id, StringComparer.Ordinal) ? [id] : [];

    /// <summary>Every client the finding's records concern: <see cref="Clients"/> and <see cref="Targets"/>, sorted.</summary>
    public IReadOnlyList<string> Concerned => Targets.Count == 0 ? Clients : Clients.Concat(Targets).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Builds a finding whose severity and source come from the rule catalog.</summary>
    public static Finding Create(string rule, IEnumerable<string> clients, string summary, IReadOnlyDictionary<string, object?> evidence, DateTimeOffset observedAt)
    {
        var descriptor = RuleCatalog.Get(rule);
        return new Finding
        {
            Rule = rule,
            Severity = descriptor.Severity,
            Source = descriptor.Source,
            Clients = clients.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
            Summary = summary,
            Evidence = evidence,
            ObservedAt = observedAt,
        };
    }
}
