using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Audits;

namespace SegmentController.Audits;

/// <summary>
/// The audit report as the API and CLI show it, and the way back from the audit-result record in the
/// chain (<see cref="AuditRunner.ToJson"/>) to a report, so reports survive a restart.
/// </summary>
internal static class AuditReportJson
{
    /// <summary>Overall: fail if any client failed, else indeterminate if any lacks evidence, else pass.</summary>
    public static AuditOutcome Overall(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Results.Any(r => r.Outcome == AuditOutcome.Fail) ? AuditOutcome.Fail
            : report.Results.Any(r => r.Outcome == AuditOutcome.Indeterminate) || report.Results.Count == 0 ? AuditOutcome.Indeterminate
            : AuditOutcome.Pass;
    }

    /// <summary>The full report.</summary>
    public static void Write(Utf8JsonWriter w, AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(report);
        w.WriteStartObject();
        w.WriteString("id", report.Id);
        w.WriteString("trigger", report.Trigger);
        w.WriteString("started_at", report.StartedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        w.WriteString("finished_at", report.FinishedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        w.WriteString("policy_sha256", report.PolicySha256);
        AuditRunner.WriteAttribution(w, report);
        w.WriteNumber("record_index", report.RecordIndex);
        w.WriteString("result", AuditRunner.Name(Overall(report)));
        if (report.FindingsError is not null)
        {
            w.WriteString("findings_error", report.FindingsError);
        }

        if (report.ViewsError is not null)
        {
            w.WriteString("views_error", report.ViewsError);
        }

        w.WriteStartArray("clients");
        foreach (var result in report.Results)
        {
            w.WriteStartObject();
            w.WriteString("client", result.Client);
            w.WriteString("outcome", AuditRunner.Name(result.Outcome));
            w.WriteStartArray("failing_checks");
            foreach (var check in result.FailingChecks)
            {
                WriteCheck(w, check);
            }

            w.WriteEndArray();
            w.WriteStartArray("missing_evidence");
            foreach (var check in result.MissingEvidence)
            {
                WriteCheck(w, check);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("checks");
        foreach (var check in report.Checks)
        {
            WriteCheck(w, check);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>One line of a report list.</summary>
    public static void WriteSummary(Utf8JsonWriter w, AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(report);
        w.WriteStartObject();
        w.WriteString("id", report.Id);
        w.WriteString("trigger", report.Trigger);
        w.WriteString("finished_at", report.FinishedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        w.WriteString("result", AuditRunner.Name(Overall(report)));
        AuditRunner.WriteAttribution(w, report);
        w.WriteStartObject("clients");
        foreach (var result in report.Results)
        {
            w.WriteString(result.Client, AuditRunner.Name(result.Outcome));
        }

        w.WriteEndObject();
        w.WriteNumber("record_index", report.RecordIndex);
        w.WriteEndObject();
    }

    /// <summary>
    /// Reads an audit-result record back. The record holds each client's outcome and every check; the
    /// failing and missing checks per client are those of the checks that concern it.
    /// </summary>
    /// <exception cref="FormatException">The payload is not an audit result.</exception>
    public static AuditReport Read(ReadOnlyMemory<byte> payload, long recordIndex)
    {
        try
        {
            using var document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            var checks = root.GetProperty("checks").EnumerateArray().Select(c => new AuditCheck(
                c.GetProperty("source").GetString()!,
                c.GetProperty("name").GetString()!,
                c.GetProperty("clients").EnumerateArray().Select(x => x.GetString()!).ToArray(),
                Parse(c.GetProperty("outcome").GetString()),
                c.GetProperty("detail").GetString()!)).ToArray();
            var results = root.GetProperty("results").EnumerateObject().Select(r =>
            {
                var relevant = checks.Where(c => c.Concerns(r.Name)).ToArray();
                var outcome = Parse(r.Value.GetString());
                var missing = relevant.Where(c => c.Outcome == AuditOutcome.Indeterminate).ToList();
                if (outcome == AuditOutcome.Indeterminate && missing.Count == 0)
                {
                    missing.Add(new AuditCheck("audit", "evidence", [r.Name], AuditOutcome.Indeterminate, "a source gathered no evidence for this client"));
                }

                return new ClientAuditResult(r.Name, outcome, relevant.Where(c => c.Outcome == AuditOutcome.Fail).ToArray(), missing);
            }).ToArray();
            return new AuditReport
            {
                Id = root.GetProperty("id").GetString()!,
                Trigger = root.GetProperty("trigger").GetString()!,
                StartedAt = DateTimeOffset.Parse(root.GetProperty("started_at").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                FinishedAt = DateTimeOffset.Parse(root.GetProperty("finished_at").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                PolicySha256 = root.GetProperty("policy_sha256").GetString()!,
                Checks = checks,
                Results = results,
                RecordIndex = recordIndex,
                RecordedBy = root.TryGetProperty("recorded_by", out var recorder)
                    ? new AuditRecorder(recorder.GetProperty("name").GetString()!, recorder.GetProperty("auth").GetString()!)
                    : null,
                ExternalAuditor = root.TryGetProperty("external_auditor", out var auditor) ? auditor.GetString() : null,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentNullException)
        {
            throw new FormatException($"record {recordIndex} is not a readable audit result: {e.Message}", e);
        }
    }

    /// <summary>Parses pass, fail, indeterminate (anything else counts as indeterminate: never a pass).</summary>
    public static AuditOutcome Parse(string? name) => name switch
    {
        "pass" => AuditOutcome.Pass,
        "fail" => AuditOutcome.Fail,
        _ => AuditOutcome.Indeterminate,
    };

    private static void WriteCheck(Utf8JsonWriter w, AuditCheck check) => AuditRunner.WriteCheck(w, check);
}
