using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// One client's view of an incident — what its notice carries. An incident may concern several clients
/// (a flow from one client's VLAN into another's); each is told about its own part and nothing of the
/// others: not their ids or names, not their findings, not their addresses or VLANs, not the measures
/// taken against them, not their notification attempts or record counts. What another client's part was
/// is replaced by "another client" / "[another client's address]" (<see cref="ClientRedactor"/>). An
/// incident of one client alone is all its own, but what an operator wrote on it may name another client
/// ("traffic from beta reached alpha"): its view has those words redacted as well.
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
        return For(incident, Redactor(incident, client, policy));
    }

    /// <summary>
    /// The other clients that <paramref name="incident"/>, of <paramref name="client"/> alone, names — in what an
    /// operator wrote on it (its nature, notes, consequences, close reason, how notice was given) or anywhere
    /// else its view replaces something: each client whose ids, names, addresses, hosts, VLANs, ports or MACs
    /// are in it. None when the client's view of it is the incident as recorded.
    /// </summary>
    public static IReadOnlyList<string> OthersNamed(Incident incident, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentException.ThrowIfNullOrEmpty(client);
        var others = Redactor(incident, client, policy);
        var asRecorded = IncidentJson.ToUtf8(For(incident, others.Only([])), "");
        if (IncidentJson.ToUtf8(For(incident, others), "").AsSpan().SequenceEqual(asRecorded))
        {
            return [];
        }

        var named = others.Others.Where(other => !IncidentJson.ToUtf8(For(incident, others.Only([other])), "").AsSpan().SequenceEqual(asRecorded)).ToArray();

        // What the view replaces is always some client's; should it be no one client's alone, it is every other client's.
        return named.Length > 0 ? named : others.Others;
    }

    private static Incident For(Incident incident, ClientRedactor others)
    {
        var client = others.Client;

        // An entry that speaks only of other clients is their part of an incident of several; on an incident of
        // the client alone every entry is the client's, and is kept, redacted.
        var leaveOut = incident.Clients.Any(c => c != client);

        // Its detection is when its own clock started (a client concerned later was detected later): the incident's
        // earliest is another client's, and its deadline is not this client's.
        var detected = incident.NoticeFor(client)?.DetectedAt ?? incident.DetectedAt;
        return incident with
        {
            DetectedAt = detected,
            WindowStart = incident.WindowStart + (detected - incident.DetectedAt),
            Nature = others.Redact(incident.Nature),
            LikelyConsequences = others.Redact(incident.LikelyConsequences),
            Clients = [client],
            Notices = incident.Notices.Where(n => n.Client == client).ToArray(),
            ApproximateRecordsConcerned = incident.RecordsConcernedByClient.TryGetValue(client, out var own) ? own : null,
            RecordsConcernedByClient = incident.RecordsConcernedByClient.Where(p => p.Key == client).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            Findings = incident.Findings.Where(f => f.Clients.Contains(client, StringComparer.Ordinal)).Select(f => others.Redact(f)).ToArray(),
            Notifications = incident.Notifications.Where(n => n.Client == client).ToArray(),
            InvestigationNotes = Redact(others, incident.InvestigationNotes, leaveOut),
            MeasuresTaken = Redact(others, incident.MeasuresTaken, leaveOut),
            Timeline = Redact(others, incident.Timeline.Where(e => e.Kind != "notification" || e.Text.StartsWith(client + ":", StringComparison.Ordinal)).ToArray(), leaveOut),
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

    /// <summary>The redactor of <paramref name="client"/>'s view: every client the incident and its findings name is another's but its own.</summary>
    private static ClientRedactor Redactor(Incident incident, string client, SitePolicy? policy) =>
        new(client, incident.Clients.Concat(incident.Findings.SelectMany(f => f.Concerned)), policy);

    /// <summary>Entries redacted; those that concern only other clients left out where <paramref name="leaveOut"/>.</summary>
    private static TimelineEntry[] Redact(ClientRedactor others, IReadOnlyList<TimelineEntry> entries, bool leaveOut) =>
        entries.Where(e => !leaveOut || !others.ConcernsOnlyOthers(e.Text)).Select(e => e with { Text = others.Redact(e.Text) }).ToArray();
}
