using System.Text.Json;
using SegmentController.Core.Suspension;

namespace SegmentController.Api;

/// <summary>Writes API responses with <see cref="Utf8JsonWriter"/> (stable snake_case names, no reflection).</summary>
internal static class ApiJson
{
    /// <summary>A JSON response built by <paramref name="write"/>.</summary>
    public static IResult Response(Action<Utf8JsonWriter> write, int statusCode = StatusCodes.Status200OK)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
        }

        return Results.Text(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), "application/json", System.Text.Encoding.UTF8, statusCode);
    }

    /// <summary>A suspension record.</summary>
    public static void WriteSuspension(Utf8JsonWriter writer, SuspensionRecord record)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(record);
        writer.WriteStartObject();
        writer.WriteString("id", record.Id);
        WriteSuspensionProperties(writer, record);
        writer.WriteEndObject();
    }

    /// <summary>A suspension's properties but its id, into the object being written.</summary>
    public static void WriteSuspensionProperties(Utf8JsonWriter writer, SuspensionRecord record)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(record);
        writer.WriteString("scope", record.Scope);
        writer.WriteString("trigger", SuspensionNames.Of(record.Trigger));
        writer.WriteString("actor", record.Actor);
        writer.WriteString("reason", record.Reason);
        if (record.Rule is not null)
        {
            writer.WriteString("rule", record.Rule);
        }

        writer.WriteString("tripped_at", record.TrippedAt);
        if (record.FailedAuditAt is { } failedAudit)
        {
            writer.WriteString("failed_audit_at", failedAudit);
        }

        writer.WriteStartArray("stages");
        foreach (var stage in record.Stages)
        {
            WriteStage(writer, stage);
        }

        writer.WriteEndArray();
    }

    /// <summary>One kill-switch stage: name, seconds, whether it succeeded, and its detail (why not, or how it ran).</summary>
    public static void WriteStage(Utf8JsonWriter writer, StageTiming stage)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(stage);
        writer.WriteStartObject();
        writer.WriteString("stage", SuspensionNames.Of(stage.Stage));
        writer.WriteNumber("seconds", stage.Duration.TotalSeconds);
        writer.WriteBoolean("succeeded", stage.Succeeded);
        if (stage.Detail is not null)
        {
            writer.WriteString("detail", stage.Detail);
        }

        writer.WriteEndObject();
    }

    /// <summary>An array of strings under <paramref name="name"/>.</summary>
    public static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(values);
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    /// <summary>The lower-case name of a restore status.</summary>
    public static string Name(RestoreStatus status) => status switch
    {
        RestoreStatus.Restored => "restored",
        RestoreStatus.PendingApproval => "pending-approval",
        RestoreStatus.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };
}
