using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Findings;

namespace SegmentController.Core.Incidents;

/// <summary>The JSON shape of an incident: the chain's incident-event payload, the webhook body and <c>incident report --json</c>.</summary>
public static class IncidentJson
{
    /// <summary>Serializes an incident (compact, one line).</summary>
    public static byte[] ToUtf8(Incident incident, string eventKind)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, incident, eventKind);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes an incident as a JSON object.</summary>
    public static void Write(Utf8JsonWriter w, Incident incident, string eventKind)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(incident);
        w.WriteStartObject();
        w.WriteString("event", eventKind);
        w.WriteString("id", incident.Id);
        w.WriteString("status", incident.Status == IncidentStatus.Open ? "open" : "closed");
        w.WriteString("nature", incident.Nature);
        w.WriteStartArray("clients");
        foreach (var client in incident.Clients)
        {
            w.WriteStringValue(client);
        }

        w.WriteEndArray();
        w.WriteString("opened_by", incident.OpenedBy);
        w.WriteString("detected_at", Iso(incident.DetectedAt));
        w.WriteString("notice_due_at", Iso(incident.NoticeDueAt));
        WriteTime(w, "notice_given_at", incident.NoticeGivenAt);
        w.WriteStartArray("notices");
        foreach (var notice in incident.Notices)
        {
            w.WriteStartObject();
            w.WriteString("client", notice.Client);
            w.WriteString("detected_at", Iso(notice.DetectedAt));
            w.WriteString("due_at", Iso(notice.DueAt));
            WriteTime(w, "given_at", notice.GivenAt);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (incident.ApproximateRecordsConcerned is { } count)
        {
            w.WriteNumber("approximate_records_concerned", count);
        }
        else
        {
            w.WriteNull("approximate_records_concerned");
        }

        w.WriteStartObject("records_concerned");
        foreach (var (client, records) in incident.RecordsConcernedByClient.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WriteNumber(client, records);
        }

        w.WriteEndObject();

        WriteTime(w, "window_start", incident.WindowStart);
        w.WriteString("likely_consequences", incident.LikelyConsequences);
        WriteEntries(w, "investigation_notes", incident.InvestigationNotes);
        WriteEntries(w, "measures_taken", incident.MeasuresTaken);
        w.WriteStartArray("findings");
        foreach (var finding in incident.Findings)
        {
            FindingJson.Write(w, finding);
        }

        w.WriteEndArray();
        w.WriteNumber("findings_omitted", incident.FindingsOmitted);
        w.WriteStartArray("notifications");
        foreach (var n in incident.Notifications)
        {
            w.WriteStartObject();
            w.WriteString("at", Iso(n.At));
            if (n.Client is { } client)
            {
                w.WriteString("client", client);
            }

            w.WriteString("contact", n.Contact);
            w.WriteString("url", n.Url.ToString());
            w.WriteNumber("attempt", n.Attempt);
            w.WriteBoolean("delivered", n.Delivered);
            w.WriteString("outcome", n.Outcome);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteEntries(w, "timeline", incident.Timeline);
        w.WriteNumber("timeline_omitted", incident.TimelineOmitted);
        w.WriteString("updated_at", Iso(incident.UpdatedAt));
        w.WriteEndObject();
    }

    /// <summary>Reads an incident written by <see cref="Write"/>.</summary>
    /// <exception cref="FormatException">The JSON is not an incident.</exception>
    public static Incident Read(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8);
            var r = document.RootElement;
            var clients = r.GetProperty("clients").EnumerateArray().Select(c => c.GetString()!).ToArray();
            var detected = Time(r.GetProperty("detected_at"))!.Value;

            // Records written before notices were per client: every client's clock started at detection
            // and stopped when the notice (then one for all) was given.
            var notices = r.TryGetProperty("notices", out var clocks) && clocks.ValueKind == JsonValueKind.Array
                ? clocks.EnumerateArray().Select(x => new ClientNotice(x.GetProperty("client").GetString()!, Time(x.GetProperty("detected_at"))!.Value, Time(x.GetProperty("given_at")))).ToArray()
                : clients.Select(c => new ClientNotice(c, detected, Time(r.GetProperty("notice_given_at")))).ToArray();
            var byClient = new Dictionary<string, long>(StringComparer.Ordinal);
            if (r.TryGetProperty("records_concerned", out var concerned) && concerned.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in concerned.EnumerateObject())
                {
                    byClient[property.Name] = property.Value.GetInt64();
                }
            }

            return new Incident
            {
                Id = r.GetProperty("id").GetString()!,
                Status = r.GetProperty("status").GetString() == "closed" ? IncidentStatus.Closed : IncidentStatus.Open,
                Nature = r.GetProperty("nature").GetString()!,
                Clients = clients,
                OpenedBy = r.GetProperty("opened_by").GetString()!,
                DetectedAt = detected,
                Notices = notices,
                RecordsConcernedByClient = byClient,
                ApproximateRecordsConcerned = r.GetProperty("approximate_records_concerned").ValueKind == JsonValueKind.Number ? r.GetProperty("approximate_records_concerned").GetInt64() : null,
                WindowStart = Time(r.GetProperty("window_start")),
                LikelyConsequences = r.GetProperty("likely_consequences").GetString() ?? "",
                InvestigationNotes = Entries(r.GetProperty("investigation_notes")),
                MeasuresTaken = Entries(r.GetProperty("measures_taken")),
                Findings = r.GetProperty("findings").EnumerateArray().Select(ReadFinding).ToArray(),
                Notifications = r.GetProperty("notifications").EnumerateArray().Select(n => new NotificationAttempt(
                    Time(n.GetProperty("at"))!.Value,
                    n.GetProperty("contact").GetString()!,
                    new Uri(n.GetProperty("url").GetString()!),
                    n.GetProperty("attempt").GetInt32(),
                    n.GetProperty("delivered").GetBoolean(),
                    n.GetProperty("outcome").GetString() ?? "",
                    n.TryGetProperty("client", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null)).ToArray(),
                Timeline = Entries(r.GetProperty("timeline")),
                FindingsOmitted = Count(r, "findings_omitted"),
                TimelineOmitted = Count(r, "timeline_omitted"),
                UpdatedAt = Time(r.GetProperty("updated_at"))!.Value,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or UriFormatException or NullReferenceException)
        {
            throw new FormatException($"not an incident: {e.Message}", e);
        }
    }

    private static Finding ReadFinding(JsonElement f)
    {
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in f.GetProperty("evidence").EnumerateObject())
        {
            evidence[property.Name] = EvidenceValue(property.Value);
        }

        var rule = f.GetProperty("rule").GetString()!;
        var descriptor = RuleCatalog.All.GetValueOrDefault(rule);
        return new Finding
        {
            Rule = rule,
            Severity = descriptor?.Severity ?? Severity.Info,
            Source = descriptor?.Source ?? FindingSource.Store,
            Clients = f.GetProperty("clients").EnumerateArray().Select(c => c.GetString()!).ToArray(),
            Summary = f.GetProperty("summary").GetString() ?? "",
            Evidence = evidence,
            ObservedAt = Time(f.GetProperty("observed_at"))!.Value,
        };
    }

    // Arrays come back as arrays (a stacked tag's "vlans", a port's VLAN list), as they were written: a
    // client's notice rebuilt after a restart must be able to replace another client's VLAN in them.
    private static object? EvidenceValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number when value.TryGetInt64(out var l) => l,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        JsonValueKind.Array => value.EnumerateArray().Select(EvidenceValue).ToArray(),
        _ => value.GetRawText(),
    };

    // Records written before incidents were bounded have no counts: nothing was left out of them.
    private static long Count(JsonElement r, string name) =>
        r.TryGetProperty(name, out var count) && count.ValueKind == JsonValueKind.Number ? count.GetInt64() : 0;

    /// <summary>What one timeline entry takes in <see cref="Write"/>'s output (with its separating comma).</summary>
    public static int EntryBytes(TimelineEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteEntries(w, "e", [entry]);
            w.WriteEndObject();
        }

        // {"e":[ ... ]} around the entry; a comma between it and the next in a real array.
        return buffer.WrittenCount - "{\"e\":[]}".Length + 1;
    }

    private static List<TimelineEntry> Entries(JsonElement array) =>
        array.EnumerateArray().Select(e => new TimelineEntry(Time(e.GetProperty("at"))!.Value, e.GetProperty("kind").GetString()!, e.GetProperty("text").GetString() ?? "")).ToList();

    private static void WriteEntries(Utf8JsonWriter w, string name, IReadOnlyList<TimelineEntry> entries)
    {
        w.WriteStartArray(name);
        foreach (var entry in entries)
        {
            w.WriteStartObject();
            w.WriteString("at", Iso(entry.At));
            w.WriteString("kind", entry.Kind);
            w.WriteString("text", entry.Text);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            w.WriteString(name, Iso(t));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static DateTimeOffset? Time(JsonElement element) =>
        element.ValueKind == JsonValueKind.String
            ? DateTimeOffset.Parse(element.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : null;

    internal static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
