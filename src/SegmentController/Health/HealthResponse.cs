using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SegmentController.Core.Policy;
using SegmentController.Hosting;

namespace SegmentController.Health;

/// <summary>The /healthz body: overall status, the build, the policy in force and each source.</summary>
internal static class HealthResponse
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var policy = context.RequestServices.GetRequiredService<IPolicyProvider>().Current;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("status", report.Status == HealthStatus.Unhealthy ? "unhealthy" : "healthy");
        writer.WriteString("version", ControllerHost.Version);
        writer.WriteStartObject("policy");
        writer.WriteString("site", policy.Site.Id);
        writer.WriteString("sha256", policy.Sha256);
        writer.WriteEndObject();
        writer.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            writer.WriteStartObject(name);
            writer.WriteString("status", entry.Status.ToString().ToLowerInvariant());
            writer.WriteString("description", entry.Description);
            foreach (var (key, value) in entry.Data)
            {
                if (value is VerificationHealth.SourceState state)
                {
                    writer.WriteStartObject(key);
                    writer.WriteBoolean("healthy", state.Healthy);
                    writer.WriteString("detail", state.Detail);
                    writer.WriteString("since", state.Since);
                    if (state.EvidenceLostAt is { } lost)
                    {
                        writer.WriteString("evidence_lost_at", lost);
                    }

                    writer.WriteEndObject();
                }
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
