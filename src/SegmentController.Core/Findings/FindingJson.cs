using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace SegmentController.Core.Findings;

/// <summary>
/// Writes findings in the stable JSON shape every command and the API share: <c>rule</c>,
/// <c>severity</c>, <c>source</c>, <c>clients</c>, <c>summary</c>, <c>evidence</c>, <c>observed_at</c>,
/// and <c>update: true</c> on a finding that repeats an earlier one with fresh counts.
/// </summary>
public static class FindingJson
{
    /// <summary>Writes one finding as a JSON object.</summary>
    public static void Write(Utf8JsonWriter writer, Finding finding)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(finding);
        writer.WriteStartObject();
        writer.WriteString("rule", finding.Rule);
        writer.WriteString("severity", IdentifierNames.Of(finding.Severity));
        writer.WriteString("source", IdentifierNames.Of(finding.Source));
        writer.WriteStartArray("clients");
        foreach (var client in finding.Clients)
        {
            writer.WriteStringValue(client);
        }

        writer.WriteEndArray();
        writer.WriteString("summary", finding.Summary);
        writer.WritePropertyName("evidence");
        writer.WriteStartObject();
        foreach (var (key, value) in finding.Evidence)
        {
            writer.WritePropertyName(key);
            WriteValue(writer, value);
        }

        writer.WriteEndObject();
        writer.WriteString("observed_at", finding.ObservedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        if (finding.Update)
        {
            writer.WriteBoolean("update", true);
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes an evidence value: scalars, timestamps and lists of them.</summary>
    public static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case ulong ul:
                writer.WriteNumberValue(ul);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case DateTimeOffset t:
                writer.WriteStringValue(t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                break;
            case IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    WriteValue(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}
