using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Evidence;

/// <summary>
/// The body of a <see cref="RecordTypes.PolicyLoad"/> record: which policy came into force, why, and each
/// client's contract end and retention — so that verification can tell a lawful purge (the records'
/// retention had ended under the policy in force) from an early one.
/// </summary>
public static class PolicyLoadRecord
{
    /// <summary>The controller started with this policy.</summary>
    public const string Start = "start";

    /// <summary>A reload (SIGHUP) put this policy in force.</summary>
    public const string Reload = "reload";

    /// <summary>An offline purge (<c>segctl log purge</c>) applied this policy's retention.</summary>
    public const string Purge = "purge";

    /// <summary>The payload for <paramref name="policy"/>, loaded for <paramref name="cause"/>.</summary>
    public static byte[] Create(SitePolicy policy, string cause)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrEmpty(cause);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event", cause);
            w.WriteString("sha256", policy.Sha256);
            w.WriteString("source", policy.SourcePath);
            w.WriteString("site", policy.Site.Id);
            w.WriteStartObject("clients");
            foreach (var client in policy.Clients.OrderBy(c => c.Id, StringComparer.Ordinal))
            {
                w.WriteStartObject(client.Id);
                w.WriteString("contract_end", client.ContractEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                w.WriteString("retain_until", client.RetainUntil.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Each client's contract end as the record states it (empty for records written before they carried it, or malformed).</summary>
    public static IReadOnlyDictionary<string, DateOnly> ContractEnds(ReadOnlySpan<byte> payload)
    {
        var ends = new Dictionary<string, DateOnly>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(payload);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("clients", out var clients) || clients.ValueKind != JsonValueKind.Object)
            {
                return ends;
            }

            foreach (var client in clients.EnumerateObject())
            {
                if (client.Value.ValueKind == JsonValueKind.Object
                    && client.Value.TryGetProperty("contract_end", out var end) && end.ValueKind == JsonValueKind.String
                    && DateOnly.TryParseExact(end.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    ends[client.Name] = date;
                }
            }
        }
        catch (JsonException)
        {
            // Not ours to judge here: an unreadable body only means no retention facts from it.
        }

        return ends;
    }
}
