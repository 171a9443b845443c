using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;

namespace SegmentController.Core.Audits;

/// <summary>
/// Runs an audit: asks every evidence source, judges each client (indeterminate is never a pass),
/// records the report in the chain, and raises <c>audit-failed</c> for failed clients — which suspends
/// them where <c>audits.suspend_on_failure</c> says so (see <see cref="Suspension.SuspensionFindingConsumer"/>).
/// </summary>
public sealed class AuditRunner(IEnumerable<IAuditEvidenceSource> sources, IRecordAppender store, IFindingSink findings, TimeProvider time)
{
    /// <summary>Time allowed to one source before its evidence counts as missing.</summary>
    public TimeSpan SourceTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public async Task<AuditReport> RunAsync(AuditScope scope, string trigger, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        var started = time.GetUtcNow();
        var checks = new List<AuditCheck>();
        var names = new List<string>();
        foreach (var source in sources)
        {
            names.Add(source.Name);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(SourceTimeout);
            try
            {
                checks.AddRange(await source.CollectAsync(scope, progress, timeout.Token).ConfigureAwait(false));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                checks.Add(new AuditCheck(source.Name, $"{source.Name} evidence", [], AuditOutcome.Indeterminate, $"could not be gathered: {e.Message}"));
            }

            progress.Report($"{source.Name}: {checks.Count(c => c.Source == source.Name)} checks");
        }

        var report = new AuditReport
        {
            Id = NewId(started),
            Trigger = trigger,
            StartedAt = started,
            FinishedAt = time.GetUtcNow(),
            PolicySha256 = scope.Policy.Sha256,
            Checks = checks,
            Results = AuditReport.Judge(scope.Clients, checks, names),
        };
        return await RecordAsync(report, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A new audit id, e.g. <c>AUD-20260301-080000-1a2b</c>.</summary>
    public static string NewId(DateTimeOffset started) =>
        string.Create(CultureInfo.InvariantCulture, $"AUD-{started.UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..4]}");

    /// <summary>
    /// Puts a report on record: the audit-result record in the chain (it does not count until durable),
    /// then <c>audit-failed</c> for every client that failed. How every audit ends — run here or done by an
    /// external auditor and recorded through the API.
    /// </summary>
    /// <exception cref="StoreUnavailableException">The report could not be recorded.</exception>
    public async Task<AuditReport> RecordAsync(AuditReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var clients = report.Results.Select(r => r.Client).ToArray();
        var index = await store.AppendAsync(RecordTypes.AuditResult, ClientKey.Of(clients), ToJson(report), cancellationToken).ConfigureAwait(false);
        report = report with { RecordIndex = index };

        // Raised whatever audits.suspend_on_failure says: the finding is evidence and opens an incident;
        // whether it suspends is the suspension consumer's decision.
        var failed = report.Results.Where(r => r.Outcome == AuditOutcome.Fail).ToArray();
        if (failed.Length > 0)
        {
            var raised = failed.Select(r => Finding.Create(
                RuleIds.AuditFailed,
                [r.Client],
                $"audit {report.Id} failed for {r.Client}: {string.Join("; ", r.FailingChecks.Select(c => c.Name))}",
                new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["audit"] = report.Id,
                    ["record_index"] = index,
                    ["failing_checks"] = r.FailingChecks.Select(c => $"{c.Source}: {c.Name}: {c.Detail}").ToArray(),
                },
                report.FinishedAt)).ToArray();
            try
            {
                await findings.PublishAsync(raised, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The report is on record already; the caller learns that the findings did not all land.
                report = report with { FindingsError = e.Message };
            }
        }

        return report;
    }

    /// <summary>The audit-result payload.</summary>
    public static byte[] ToJson(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", report.Id);
            w.WriteString("trigger", report.Trigger);
            w.WriteString("started_at", report.StartedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("finished_at", report.FinishedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("policy_sha256", report.PolicySha256);
            w.WriteStartObject("results");
            foreach (var r in report.Results)
            {
                w.WriteString(r.Client, Name(r.Outcome));
            }

            w.WriteEndObject();
            w.WriteStartArray("checks");
            foreach (var c in report.Checks)
            {
                WriteCheck(w, c);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One check as JSON: source, name, clients, outcome, detail (the record's and the API's shape).</summary>
    public static void WriteCheck(Utf8JsonWriter w, AuditCheck check)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(check);
        w.WriteStartObject();
        w.WriteString("source", check.Source);
        w.WriteString("name", check.Name);
        w.WriteStartArray("clients");
        foreach (var client in check.Clients)
        {
            w.WriteStringValue(client);
        }

        w.WriteEndArray();
        w.WriteString("outcome", Name(check.Outcome));
        w.WriteString("detail", check.Detail);
        w.WriteEndObject();
    }

    /// <summary>Stable spelling: pass, fail, indeterminate.</summary>
    public static string Name(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Pass => "pass",
        AuditOutcome.Fail => "fail",
        _ => "indeterminate",
    };
}
