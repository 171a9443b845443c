using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// One client's view of an incident — what its notice carries. An incident may concern several clients
/// (a flow from one client's VLAN into another's); each is told about its own part and nothing of the
/// others: not their ids or names, not their findings, not their addresses or VLANs, not the measures
/// taken against them, not their notification attempts or record counts. What another client's part was
/// is replaced by "another client" / "[another client's address]" (<see cref="ClientRedactor"/>).
/// </summary>
public static class IncidentView
{
    /// <summary>What replaces another client's id or name.</summary>
    public const string AnotherClient = ClientRedactor.AnotherClient;

    /// <summary>What replaces another client's address.</summary>
    public const string AnotherAddress = ClientRedactor.AnotherAddress;

    /// <summary>What replaces another client's VLAN.</summary>
    public const string AnotherVlan = ClientRedactor.AnotherVlan;

    /// <summary><paramref name="incident"/> as <paramref name="client"/> may see it.</summary>
    public static Incident For(Incident incident, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentException.ThrowIfNullOrEmpty(client);
        var others = new ClientRedactor(client, incident.Clients.Concat(incident.Findings.SelectMany(f => f.Concerned)), policy);
        return incident with
        {
            Nature = others.Redact(incident.Nature),
            Clients = [client],
            Notices = incident.Notices.Where(n => n.Client == client).ToArray(),
            ApproximateRecordsConcerned = incident.RecordsConcernedByClient.TryGetValue(client, out var own) ? own : null,
            RecordsConcernedByClient = incident.RecordsConcernedByClient.Where(p => p.Key == client).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            Findings = incident.Findings.Where(f => f.Clients.Contains(client, StringComparer.Ordinal)).Select(f => others.Redact(f)).ToArray(),
            Notifications = incident.Notifications.Where(n => n.Client == client).ToArray(),
            InvestigationNotes = Redact(others, incident.InvestigationNotes),
            MeasuresTaken = Redact(others, incident.MeasuresTaken),
            Timeline = Redact(others, incident.Timeline.Where(e => e.Kind != "notification" || e.Text.StartsWith(client + ":", StringComparison.Ordinal)).ToArray()),
        };
    }

    /// <summary>
    /// <paramref name="text"/> (a suspension's reason, say) as <paramref name="client"/> may read it: the
    /// other clients' ids and names, addresses and VLANs replaced as in its view of an incident.
    /// </summary>
    public static string Redact(string text, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(client);
        return new ClientRedactor(client, [], policy).Redact(text);
    }

    /// <summary>Entries that concern only other clients are left out; the rest are redacted.</summary>
    private static TimelineEntry[] Redact(ClientRedactor others, IReadOnlyList<TimelineEntry> entries) =>
        entries.Where(e => !others.ConcernsOnlyOthers(e.Text)).Select(e => e with { Text = others.Redact(e.Text) }).ToArray();
}
