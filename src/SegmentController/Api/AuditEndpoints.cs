using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using SegmentController.Audits;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Api;

/// <summary>
/// Audits in the operator API: <c>POST /audits</c> runs one now (auditor or admin), <c>POST /audits/external</c>
/// records one an external auditor did (auditor or admin), <c>GET /audits</c> lists recent reports,
/// <c>GET /audits/{id}</c> shows one. A run asked for with <c>Accept: application/x-ndjson</c> streams its
/// progress as it gathers evidence, then the report.
/// </summary>
internal static class AuditEndpoints
{
    /// <summary>The streaming media type: one JSON object per line.</summary>
    public const string NdjsonMediaType = "application/x-ndjson";

    private const int MaxIdLength = 64;

    /// <summary>Maps the audit routes onto the <c>/api/v1</c> group.</summary>
    public static RouteGroupBuilder MapAudits(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/audits", RunAudit).RequireAuthorization(ApiRoles.CanAudit);
        api.MapPost("/audits/external", RecordExternalAudit).RequireAuthorization(ApiRoles.CanAudit);
        api.MapGet("/audits", ListAudits);
        api.MapGet("/audits/{id}", ShowAudit);
        return api;
    }

    private static async Task<IResult> RunAudit(HttpContext context, ClaimsPrincipal user, IPolicyProvider policy, OperatorActionRecorder recorder, IHostApplicationLifetime lifetime, string? client, CancellationToken cancellationToken)
    {
        if (context.RequestServices.GetService<AuditService>() is not { } audits)
        {
            return NotRunning();
        }

        var (bodyClient, problem) = await ApiRequests.ReadAuditRunAsync(context.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (client is not null && bodyClient is not null && !string.Equals(client, bodyClient, StringComparison.Ordinal))
        {
            return ApiRequests.BadRequest("the query and the body name different clients");
        }

        client ??= bodyClient;
        if (client is not null && policy.Current.FindClient(client) is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown client", detail: $"'{client}' is not a client of this site");
        }

        // An audit can suspend clients: who asked for it is on record before it starts.
        try
        {
            await recorder.RecordAsync(user, "audit-run", client, "on-demand audit", "requested", null, cancellationToken);
        }
        catch (StoreUnavailableException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Evidence store unavailable", detail: $"the audit was not run because it could not be recorded: {e.Message}");
        }

        var streaming = context.Request.Headers.Accept.Any(a => a is not null && a.Contains(NdjsonMediaType, StringComparison.OrdinalIgnoreCase));
        return streaming
            ? new StreamedAudit(audits, recorder, user, client, lifetime.ApplicationStopping)
            : await RunBufferedAsync(audits, recorder, user, client, lifetime.ApplicationStopping);
    }

    private static async Task<IResult> RunBufferedAsync(AuditService audits, OperatorActionRecorder recorder, ClaimsPrincipal user, string? client, CancellationToken stopping)
    {
        var (report, problem) = await RunAsync(audits, recorder, user, client, NoProgress.Instance, stopping);
        return report is null
            ? Results.Problem(statusCode: problem!.Value.Status, title: problem.Value.Title, detail: problem.Value.Detail)
            : ApiJson.Response(w => AuditReportJson.Write(w, report), StatusCodes.Status201Created);
    }

    /// <summary>
    /// Runs the audit to its end whatever happens to the request (an audit begun is evidence: it is
    /// completed and recorded even if the operator's connection drops); stops only with the controller.
    /// </summary>
    private static async Task<(AuditReport? Report, (int Status, string Title, string Detail)? Problem)> RunAsync(
        AuditService audits, OperatorActionRecorder recorder, ClaimsPrincipal user, string? client, IProgress<string> progress, CancellationToken stopping)
    {
        try
        {
            var report = await audits.RunAsync(client, AuditService.OnDemandTrigger, progress, stopping);
            await recorder.TryRecordAsync(user, "audit-run", client, "on-demand audit", AuditRunner.Name(AuditReportJson.Overall(report)),
                new Dictionary<string, string?> { ["audit_id"] = report.Id, ["record_index"] = report.RecordIndex.ToString(System.Globalization.CultureInfo.InvariantCulture) }, CancellationToken.None);
            return (report, null);
        }
        catch (ArgumentException e)
        {
            return (null, (StatusCodes.Status404NotFound, "Unknown client", e.Message));
        }
        catch (StoreUnavailableException e)
        {
            return (null, (StatusCodes.Status503ServiceUnavailable, "Evidence store unavailable", $"the audit could not be recorded and does not count: {e.Message}"));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return (null, (StatusCodes.Status503ServiceUnavailable, "Controller stopping", "the controller stopped before the audit completed; it was not recorded"));
        }
    }

    /// <summary>
    /// An external audit becomes an audit result like a run one: recorded in the chain, <c>audit-failed</c>
    /// and (per <c>audits.suspend_on_failure</c>) a suspension on failure, a pass that counts for restores.
    /// Who recorded it is on record first: a pass can enable a restore.
    /// </summary>
    private static async Task<IResult> RecordExternalAudit(HttpRequest request, ClaimsPrincipal user, IPolicyProvider policy, OperatorActionRecorder recorder, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (services.GetService<AuditService>() is not { } audits)
        {
            return NotRunning();
        }

        var (audit, problem) = await ApiRequests.ReadExternalAuditAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (policy.Current.FindClient(audit!.Client) is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown client", detail: $"'{audit.Client}' is not a client of this site");
        }

        // Attributed to the credential that records it; the auditor the body names is that caller's
        // statement, kept apart and labelled as such, never who recorded it.
        var recordedBy = OperatorActionRecorder.RecorderOf(user);
        var actor = recordedBy.Name;
        var outcome = audit.Passed ? "pass" : "fail";
        try
        {
            var details = audit.ExternalAuditor is null ? null : new Dictionary<string, string?> { ["external_auditor"] = audit.ExternalAuditor };
            await recorder.RecordAsync(user, "audit-record", audit.Client, audit.Summary, outcome, details, cancellationToken);
        }
        catch (StoreUnavailableException e)
        {
            return await UnrecordedAsync(e);
        }

        try
        {
            var report = await audits.RecordExternalAsync(audit.Client, audit.Passed ? AuditOutcome.Pass : AuditOutcome.Fail, recordedBy, audit.ExternalAuditor, audit.Summary, cancellationToken);
            return ApiJson.Response(w => AuditReportJson.Write(w, report), StatusCodes.Status201Created);
        }
        catch (ArgumentException e)
        {
            return ApiRequests.BadRequest(e.Message);
        }
        catch (StoreUnavailableException e)
        {
            return await UnrecordedAsync(e);
        }

        // Not recorded, the result does not count — but a failure still cuts the client off (fail closed);
        // the suspension is durable on its own.
        async Task<IResult> UnrecordedAsync(StoreUnavailableException e)
        {
            var suspended = false;
            if (!audit.Passed && policy.Current.Audits.SuspendOnFailure && services.GetService<Core.Suspension.SuspensionEngine>() is { } engine)
            {
                try
                {
                    await engine.RecordAuditAsync(audit.Client, passed: false, actor, $"{AuditService.ExternalCheckName(recordedBy)} failed (not recorded: evidence store unavailable): {AuditService.ExternalCheckDetail(audit.Summary, audit.ExternalAuditor)}", CancellationToken.None);
                    suspended = true;
                }
                catch (IOException)
                {
                    // The problem below says the client was not suspended either.
                }
            }

            return Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Evidence store unavailable",
                detail: $"the audit result could not be recorded and does not count{(suspended ? "; the client was suspended all the same" : "")}: {e.Message}");
        }
    }

    private static IResult ListAudits(HttpContext context, string? client, string? limit)
    {
        var (take, problem) = ApiRequests.Limit(limit, fallback: 20, max: 100);
        if (problem is not null)
        {
            return problem;
        }

        if (context.RequestServices.GetService<AuditService>() is not { } audits)
        {
            return NotRunning();
        }

        var reports = audits.Recent
            .Where(r => client is null || r.Results.Any(x => string.Equals(x.Client, client, StringComparison.Ordinal)))
            .Take(take)
            .ToArray();
        return ApiJson.Response(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("audits");
            foreach (var report in reports)
            {
                AuditReportJson.WriteSummary(w, report);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> ShowAudit(HttpContext context, string id, CancellationToken cancellationToken)
    {
        if (context.RequestServices.GetService<AuditService>() is not { } audits)
        {
            return NotRunning();
        }

        if (id.Length is 0 or > MaxIdLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return UnknownAudit(id.Length > MaxIdLength ? id[..MaxIdLength] + "…" : id);
        }

        try
        {
            return await audits.FindAsync(id, cancellationToken) is { } report
                ? ApiJson.Response(w => AuditReportJson.Write(w, report))
                : UnknownAudit(id);
        }
        catch (FormatException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Audit record unreadable", detail: e.Message);
        }
        catch (StoreUnavailableException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Evidence store unavailable", detail: e.Message);
        }
    }

    private static IResult NotRunning() =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Audits not available", detail: "this controller does not run audits");

    private static IResult UnknownAudit(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown audit", detail: $"no audit '{id}'");

    private sealed class NoProgress : IProgress<string>
    {
        public static readonly NoProgress Instance = new();

        public void Report(string value)
        {
        }
    }

    /// <summary>
    /// The streamed run: <c>{"progress": "…"}</c> lines while evidence is gathered, then
    /// <c>{"report": {…}}</c> or <c>{"error": {"status", "title", "detail"}}</c>.
    /// </summary>
    private sealed class StreamedAudit(AuditService audits, OperatorActionRecorder recorder, ClaimsPrincipal user, string? client, CancellationToken stopping) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = NdjsonMediaType;
            var lines = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
            var progress = new ChannelProgress(lines.Writer);
            var writing = WriteLinesAsync(lines.Reader, response, httpContext.RequestAborted);
            var (report, problem) = await RunAsync(audits, recorder, user, client, progress, stopping);
            lines.Writer.TryWrite(Line(w =>
            {
                w.WriteStartObject();
                if (report is not null)
                {
                    w.WritePropertyName("report");
                    AuditReportJson.Write(w, report);
                }
                else
                {
                    w.WriteStartObject("error");
                    w.WriteNumber("status", problem!.Value.Status);
                    w.WriteString("title", problem.Value.Title);
                    w.WriteString("detail", problem.Value.Detail);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }));
            lines.Writer.TryComplete();
            await writing;
        }

        private static async Task WriteLinesAsync(ChannelReader<byte[]> reader, HttpResponse response, CancellationToken aborted)
        {
            var connected = true;
            await foreach (var line in reader.ReadAllAsync(CancellationToken.None))
            {
                if (!connected)
                {
                    continue;
                }

                try
                {
                    await response.Body.WriteAsync(line, aborted);
                    await response.Body.FlushAsync(aborted);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    // The operator went away; the audit goes on and is recorded all the same.
                    connected = false;
                }
            }
        }

        private static byte[] Line(Action<Utf8JsonWriter> write)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                write(writer);
            }

            buffer.WriteByte((byte)'\n');
            return buffer.ToArray();
        }

        private sealed class ChannelProgress(ChannelWriter<byte[]> writer) : IProgress<string>
        {
            public void Report(string value) => writer.TryWrite(Line(w =>
            {
                w.WriteStartObject();
                w.WriteString("progress", value);
                w.WriteEndObject();
            }));
        }
    }
}
