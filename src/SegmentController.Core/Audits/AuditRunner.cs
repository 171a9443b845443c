using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

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

    /// <summary>Gathers the evidence, judges each client and records the report (<see cref="RecordAsync"/>).</summary>
    /// <exception cref="StoreUnavailableException">The report could not be recorded.</exception>
    public async Task<AuditReport> RunAsync(AuditScope scope, string trigger, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var report = await GatherAsync(scope, trigger, progress, cancellationToken).ConfigureAwait(false);
        return await RecordAsync(report, scope.Policy, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Gathers the evidence and judges each client: the report as it will be recorded, not yet on record (it counts
    /// once <see cref="RecordAsync"/> has put it there).
    /// </summary>
    public async Task<AuditReport> GatherAsync(AuditScope scope, string trigger, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        // The report starts where its evidence window ends: the next site-wide audit's window starts there, after a
        // restart too (read back from the record), so nothing recorded while this one runs falls between two windows.
        var now = time.GetUtcNow();
        var started = scope.WindowEnd < now ? scope.WindowEnd : now;
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

        return new AuditReport
        {
            Id = NewId(started),
            Trigger = trigger,
            StartedAt = started,
            FinishedAt = time.GetUtcNow(),
            PolicySha256 = scope.Policy.Sha256,
            Checks = checks,
            Results = AuditReport.Judge(scope.Clients, checks, names),
        };
    }

    /// <summary>A new audit id, e.g. <c>AUD-20260301-080000-1a2b</c>.</summary>
    public static string NewId(DateTimeOffset started) =>
        string.Create(CultureInfo.InvariantCulture, $"AUD-{started.UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..4]}");

    /// <summary>
    /// Puts a report on record: the audit-result record in the chain (it does not count until durable), under
    /// the key of every client it names (those judged and those its checks concern, and for an audit of one
    /// client those its words name) — for one that names several, with each judged client's own view beside it (<c>audit-view</c>, under its key alone: an
    /// export for one client withholds the shared record, and shows this) — then
    /// <c>audit-failed</c> for every client that failed, naming that client alone. How every audit ends — run
    /// here or done by an external auditor and recorded through the API.
    /// </summary>
    /// <param name="report">The report.</param>
    /// <param name="policy">The policy it was judged against: what each client's view and finding must not name of the others.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="StoreUnavailableException">The report could not be recorded.</exception>
    public async Task<AuditReport> RecordAsync(AuditReport report, SitePolicy? policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        // Keyed to every client it names: an audit of alpha alone whose check found alpha's port in bravo's
        // VLAN speaks of bravo too, and is no more alpha's alone to export than a site-wide one.
        // (A check's client that could never be a key is named in the payload only; it must not cost the record.)
        var concerned = report.Results.Select(r => r.Client)
            .Concat(report.Checks.SelectMany(c => c.Clients).Where(c => ClientKey.IsCanonical(c)))
            .Distinct(StringComparer.Ordinal).ToArray();

        // An audit of one client whose words name another (an external auditor's summary: "beta's VLAN on
        // alpha's port") is kept as written — it is read back at the next start — under the key of every
        // client they name too, so that the one client's export shows its view instead. Words that name no
        // other client leave the record as it always was.
        var keyed = concerned.Length == 1 && report.Results.Count == 1 && report.Results[0].Client == concerned[0]
            ? [.. concerned, .. AuditView.OthersNamed(report, concerned[0], policy).Where(c => ClientKey.IsCanonical(c))]
            : concerned;
        var views = keyed.Length < 2 ? [] : report.Results.Select(r => (r.Client, Payload: ToJson(AuditView.For(report, r.Client, policy)))).ToArray();
        var full = store.AppendAsync(RecordTypes.AuditResult, ClientKey.Of(keyed), ToJson(report), cancellationToken).AsTask();

        // Queued together behind the full record, so one commit serves them all; one refused lands in ViewsError.
        var viewed = Task.WhenAll(views.Select(async v => await store.AppendAsync(RecordTypes.AuditView, ClientKey.Of(v.Client), v.Payload, cancellationToken).ConfigureAwait(false)));
        long index;
        try
        {
            index = await full.ConfigureAwait(false);
        }
        catch
        {
            _ = viewed.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }

        report = report with { RecordIndex = index };

        // Acted on once the full record is durable, as ever; the views are the clients' copies of it.
        // Raised whatever audits.suspend_on_failure says: the finding is evidence and opens an incident;
        // whether it suspends is the suspension consumer's decision.
        var failed = report.Results.Where(r => r.Outcome == AuditOutcome.Fail).ToArray();
        if (failed.Length > 0)
        {
            var raised = failed.Select(r => AuditFailed(report, r, new ClientRedactor(r.Client, concerned, policy))).ToArray();
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

        try
        {
            await viewed.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The report is on record and counts; the caller learns that a client's export lacks its view.
            report = report with { ViewsError = e.Message };
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
            WriteAttribution(w, report);
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

    /// <summary>
    /// An external audit's attribution (the record's and the API's shape): <c>recorded_by</c> (<c>name</c>,
    /// <c>auth</c>: the authenticated credential) and <c>external_auditor</c> (as stated, when one was named).
    /// Nothing for an audit the controller ran.
    /// </summary>
    public static void WriteAttribution(Utf8JsonWriter w, AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(report);
        if (report.RecordedBy is { } recorder)
        {
            w.WriteStartObject("recorded_by");
            w.WriteString("name", recorder.Name);
            w.WriteString("auth", recorder.Auth);
            w.WriteEndObject();
        }

        if (report.ExternalAuditor is { } auditor)
        {
            w.WriteString("external_auditor", auditor);
        }
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

    /// <summary>
    /// The <c>audit-failed</c> finding of a client: it names that client alone and is recorded under its key,
    /// so what it says of its failing checks is redacted for it (another client's VLAN or route is "another
    /// client's"); the audit's full record, which the finding names, keeps every word.
    /// </summary>
    private static Finding AuditFailed(AuditReport report, ClientAuditResult result, ClientRedactor others) => Finding.Create(
        RuleIds.AuditFailed,
        [result.Client],
        others.Redact($"audit {report.Id} failed for {result.Client}: {string.Join("; ", result.FailingChecks.Select(c => c.Name))}"),
        new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["audit"] = report.Id,
            ["record_index"] = report.RecordIndex,
            ["failing_checks"] = result.FailingChecks.Select(c => others.Redact($"{c.Source}: {c.Name}: {c.Detail}")).ToArray(),
        },
        report.FinishedAt);

    /// <summary>Stable spelling: pass, fail, indeterminate.</summary>
    public static string Name(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Pass => "pass",
        AuditOutcome.Fail => "fail",
        _ => "indeterminate",
    };
}
