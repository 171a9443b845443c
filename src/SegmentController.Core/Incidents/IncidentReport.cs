using System.Globalization;
using System.Text;
using SegmentController.Core.Findings;

namespace SegmentController.Core.Incidents;

/// <summary>Renders the notice an auditor or a client's security team reads.</summary>
public static class IncidentReport
{
    public static string Markdown(Incident incident, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"# Security incident {incident.Id}\n\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Status:** {(incident.Status == IncidentStatus.Open ? "open" : "closed")}\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Nature:** {incident.Nature}\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Clients concerned:** {string.Join(", ", incident.Clients)}\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Opened by:** {incident.OpenedBy}\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Detected at:** {Iso(incident.DetectedAt)}\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Notice due at:** {Iso(incident.NoticeDueAt)} (detection + 8 hours)\n");
        var given = incident.NoticeGivenAt is { } g
            ? $"{Iso(g)} ({(incident.NoticeOnTime == true ? "on time" : "LATE")})"
            : incident.Notices.Any(n => n.GivenAt is null && now > n.DueAt) || (incident.Notices.Count == 0 && now > incident.NoticeDueAt) ? "not given — OVERDUE"
            : $"not yet given ({((incident.Notices.Where(n => n.GivenAt is null).Select(n => (DateTimeOffset?)n.DueAt).Min() ?? incident.NoticeDueAt) - now).TotalMinutes:F0} minutes left)";
        b.Append(CultureInfo.InvariantCulture, $"- **Notice given at:** {given}\n");
        var approximate = incident.ApproximateRecordsConcerned is { } count
            ? $"about {count} (access records for these clients from {(incident.DetectedAt - (incident.WindowStart ?? incident.DetectedAt)).TotalHours:F0} hours before detection ({Iso(incident.WindowStart ?? incident.DetectedAt)}) until the incident was recorded"
                + (incident.RecordsConcernedByClient.Count > 1 ? "; " + string.Join(", ", incident.RecordsConcernedByClient.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {p.Value}")) : "") + ")"
            : "not yet assessed";
        b.Append(CultureInfo.InvariantCulture, $"- **Approximate number of records concerned:** {approximate}\n");
        b.Append(CultureInfo.InvariantCulture, $"- **Likely consequences:** {(incident.LikelyConsequences.Length == 0 ? "under assessment" : incident.LikelyConsequences)}\n\n");
        b.Append("## Notice per client\n\n");
        if (incident.Notices.Count == 0)
        {
            b.Append("None recorded.\n");
        }

        foreach (var n in incident.Notices)
        {
            var state = n.GivenAt is { } at
                ? $"given {Iso(at)} ({(n.OnTime == true ? "on time" : "LATE")})"
                : now > n.DueAt ? "not given — OVERDUE" : $"not yet given ({(n.DueAt - now).TotalMinutes:F0} minutes left)";
            b.Append(CultureInfo.InvariantCulture, $"- {n.Client}: detected {Iso(n.DetectedAt)}, due by {Iso(n.DueAt)}, {state}\n");
        }

        b.Append('\n');
        Section(b, "Measures taken", incident.MeasuresTaken);
        Section(b, "Investigation notes", incident.InvestigationNotes);
        b.Append("## Findings\n\n");
        if (incident.Findings.Count == 0)
        {
            b.Append("None (opened by an operator).\n\n");
        }

        foreach (var f in incident.Findings)
        {
            b.Append(CultureInfo.InvariantCulture, $"- `{f.Rule}` ({IdentifierNames.Of(f.Severity)}, {IdentifierNames.Of(f.Source)}) at {Iso(f.ObservedAt)}: {f.Summary}\n");
        }

        if (incident.FindingsOmitted > 0)
        {
            b.Append(CultureInfo.InvariantCulture, $"- and {incident.FindingsOmitted} more findings, not listed here: each is on record as a finding of its own\n");
        }

        b.Append("\n## Notifications\n\n");
        if (incident.Notifications.Count == 0)
        {
            b.Append("None attempted.\n");
        }

        foreach (var n in incident.Notifications)
        {
            b.Append(CultureInfo.InvariantCulture, $"- {Iso(n.At)} to {n.Contact} <{n.Url}> attempt {n.Attempt}: {(n.Delivered ? "delivered" : "failed")} ({n.Outcome})\n");
        }

        Section(b, "\nTimeline", incident.Timeline, prefixNewline: false);
        if (incident.TimelineOmitted > 0)
        {
            b.Append(CultureInfo.InvariantCulture, $"{incident.TimelineOmitted} entries after the first {Incident.TimelineHead} (notifications excepted) are not listed here, to keep the incident's record within bounds: each is in the evidence store, in this incident's record made when it was added.\n");
        }

        return b.ToString();
    }

    private static void Section(StringBuilder b, string title, IReadOnlyList<TimelineEntry> entries, bool prefixNewline = false)
    {
        b.Append(prefixNewline ? "\n" : "").Append("## ").Append(title.TrimStart('\n')).Append("\n\n");
        if (entries.Count == 0)
        {
            b.Append("None recorded.\n");
        }

        foreach (var e in entries)
        {
            b.Append(CultureInfo.InvariantCulture, $"- {Iso(e.At)} [{e.Kind}] {e.Text}\n");
        }

        b.Append('\n');
    }

    private static string Iso(DateTimeOffset t) => IncidentJson.Iso(t);
}
