using System.Security.Claims;
using System.Text.Json;
using SegmentController.Audits;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Findings;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Api;

/// <summary>
/// The operator API under <c>/api/v1</c>. Deny by default: the group requires an authenticated role,
/// and every changing endpoint a specific one. Errors are RFC 9457 problem details.
/// </summary>
internal static class OperatorApiEndpoints
{
    /// <summary>Maps the operator API.</summary>
    public static WebApplication MapOperatorApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api/v1").RequireAuthorization(ApiRoles.CanView);
        api.MapGet("/status", Status);
        api.MapGet("/findings", FindingsList);
        api.MapPost("/clients/{id}/suspend", SuspendClient).RequireAuthorization(ApiRoles.CanSuspend);
        api.MapPost("/suspend-all", SuspendAll).RequireAuthorization(ApiRoles.CanSuspend);
        api.MapPost("/clients/{id}/restore", RestoreClient).RequireAuthorization(ApiRoles.CanRequestRestore);
        api.MapPost("/restore-all", RestoreAll).RequireAuthorization(ApiRoles.CanRequestRestore);
        api.MapPost("/restores/{id}/approve", Approve).RequireAuthorization(ApiRoles.CanApprove);
        api.MapAudits();
        api.MapGet("/log/verify", VerifyLog).RequireAuthorization(ApiRoles.CanAudit);
        api.MapGet("/log/export", ExportLog).RequireAuthorization(ApiRoles.CanAudit);
        api.MapIncidents();

        api.MapGet("/openapi.json", () => Results.Text(OperatorApiDocument.Json, "application/json")).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// The latest reassertion of a client's switch ports by a suspension in force (null when none): when,
    /// why, whether every port read back down, and the client's own ports and failures in it (a site-wide
    /// reassertion names every client's).
    /// </summary>
    private static void WriteLastReassertion(Utf8JsonWriter w, SuspensionState state, ClientDefinition client)
    {
        if (state.LastReassertion(client.Id) is not { } last)
        {
            w.WriteNullValue();
            return;
        }

        var (suspension, reassertion) = last;
        var own = client.PortsToShut()
            .SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}"))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var alone = reassertion.Clients.Count == 1;
        w.WriteStartObject();
        w.WriteString("at", reassertion.At);
        w.WriteString("cause", SuspensionNames.Of(reassertion.Cause));
        w.WriteBoolean("verified", reassertion.Verified);
        w.WriteString("suspension_id", suspension.Id);
        w.WriteString("suspension_scope", suspension.Scope);
        ApiJson.WriteStrings(w, "ports", reassertion.Ports.Where(p => alone || own.Contains(p)));
        ApiJson.WriteStrings(w, "failures", reassertion.Failures.Where(f => alone
            || f.StartsWith($"{client.Id}:", StringComparison.Ordinal)
            || own.Any(p => f.StartsWith($"{p}:", StringComparison.OrdinalIgnoreCase))));
        w.WriteEndObject();
    }

    private static IResult Status(SuspensionEngine engine, IPolicyProvider policy, FindingPipeline findings, IServiceProvider services)
    {
        var incidents = services.GetService<IncidentManager>()?.Incidents;
        var audits = services.GetService<AuditService>();
        var state = engine.Current;
        var site = policy.Current;
        var recent = findings.Recent;
        return ApiJson.Response(w =>
        {
            w.WriteStartObject();
            w.WriteString("site", site.Site.Id);
            w.WriteString("policy_sha256", site.Sha256);
            w.WriteBoolean("all_suspended", state.AllSuspended);
            w.WritePropertyName("site_suspension");
            if (state.Suspensions.TryGetValue(SuspensionNames.AllClients, out var all))
            {
                ApiJson.WriteSuspension(w, all);
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("site_pending_restore");
            WritePendingRestore(w, state, SuspensionNames.AllClients, site.Restore.Approvers);

            w.WriteStartArray("clients");
            foreach (var client in site.Clients)
            {
                w.WriteStartObject();
                w.WriteString("id", client.Id);
                w.WriteString("name", client.Name);
                w.WriteString("state", state.IsSuspended(client.Id) ? "suspended" : "active");
                w.WritePropertyName("suspension");
                if (state.Suspensions.TryGetValue(client.Id, out var own))
                {
                    ApiJson.WriteSuspension(w, own);
                }
                else
                {
                    w.WriteNullValue();
                }

                w.WritePropertyName("pending_restore");
                WritePendingRestore(w, state, client.Id, site.Restore.Approvers);

                w.WritePropertyName("last_reassertion");
                WriteLastReassertion(w, state, client);
                ApiJson.WriteStrings(w, "ports_pending_retry", engine.PortsPendingRetry(client.Id));
                ApiJson.WriteStrings(w, "ports_owed_bring_up", state.OwedBringUps.TryGetValue(client.Id, out var owed)
                    ? owed.Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}"))
                    : []);

                w.WritePropertyName("last_passing_audit");
                if (state.LastPassingAudit.TryGetValue(client.Id, out var audit))
                {
                    w.WriteStringValue(audit);
                }
                else
                {
                    w.WriteNullValue();
                }

                if (audits is not null)
                {
                    w.WritePropertyName("last_audit");
                    if (audits.LastFor(client.Id) is { } last)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", last.AuditId);
                        w.WriteString("outcome", AuditRunner.Name(last.Outcome));
                        w.WriteString("finished_at", last.FinishedAt);
                        w.WriteEndObject();
                    }
                    else
                    {
                        w.WriteNullValue();
                    }
                }

                if (incidents is not null)
                {
                    w.WriteStartArray("open_incidents");
                    foreach (var incident in incidents.Where(i => i.Status == IncidentStatus.Open && i.Clients.Contains(client.Id, StringComparer.Ordinal)))
                    {
                        w.WriteStringValue(incident.Id);
                    }

                    w.WriteEndArray();

                    // The incidents, open or closed, that still owe this client its notice (the 8-hour rule).
                    w.WriteStartArray("notices_owed");
                    foreach (var incident in incidents)
                    {
                        if (incident.NoticeFor(client.Id) is { GivenAt: null } notice)
                        {
                            w.WriteStartObject();
                            w.WriteString("incident", incident.Id);
                            w.WriteString("due_at", notice.DueAt);
                            w.WriteEndObject();
                        }
                    }

                    w.WriteEndArray();
                }

                w.WriteStartArray("recent_findings");
                foreach (var finding in recent.Where(f => f.Clients.Contains(client.Id, StringComparer.Ordinal)).TakeLast(5))
                {
                    FindingJson.Write(w, finding);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>A restore asked for and waiting for approvers (null when none): who agreed so far and how many must.</summary>
    private static void WritePendingRestore(Utf8JsonWriter w, SuspensionState state, string scope, int needed)
    {
        if (!state.PendingRestores.TryGetValue(scope, out var pending))
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteString("restore_id", pending.SuspensionId);
        w.WriteString("requested_by", pending.RequestedBy);
        w.WriteString("requested_at", pending.RequestedAt);
        w.WriteString("reason", pending.Reason);
        w.WriteStartArray("approvers");
        foreach (var approver in pending.Approvers)
        {
            w.WriteStringValue(approver);
        }

        w.WriteEndArray();
        w.WriteNumber("approvers_needed", needed);
        w.WriteEndObject();
    }

    private static IResult FindingsList(FindingPipeline findings, string? client, string? limit)
    {
        var (take, problem) = ApiRequests.Limit(limit, fallback: 100, max: 512);
        if (problem is not null)
        {
            return problem;
        }

        var selected = findings.Recent
            .Where(f => client is null || f.Clients.Contains(client, StringComparer.Ordinal))
            .TakeLast(take)
            .ToArray();
        return ApiJson.Response(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("findings");
            foreach (var finding in selected)
            {
                FindingJson.Write(w, finding);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> SuspendClient(string id, HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, IPolicyProvider policy, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        if (policy.Current.FindClient(id) is null)
        {
            return UnknownClient(id);
        }

        return await SuspendAsync(id, request, user, engine, recorder, cancellationToken);
    }

    private static Task<IResult> SuspendAll(HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, OperatorActionRecorder recorder, CancellationToken cancellationToken) =>
        SuspendAsync(SuspensionNames.AllClients, request, user, engine, recorder, cancellationToken);

    private static async Task<IResult> SuspendAsync(string scope, HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ApiRequests.ReadReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        TripResult result;
        try
        {
            result = await engine.TripAsync(
                new TripRequest { Scope = scope, Trigger = SuspensionTrigger.Operator, Actor = OperatorActionRecorder.ActorOf(user), Reason = reason! },
                cancellationToken);
        }
        catch (IOException e)
        {
            // Not durable means not acknowledged and not in force: say so, loudly.
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Suspension not durable", detail: e.Message);
        }

        // The trip is in force already; the record follows and never holds it back.
        var recorded = await recorder.TryRecordAsync(user, "suspend", scope, reason!, result.Created ? "suspended" : "already-suspended",
            new Dictionary<string, string?> { ["suspension_id"] = result.Record.Id }, cancellationToken);
        if (request.Headers.Accept.Any(a => a is not null && a.Contains(AuditEndpoints.NdjsonMediaType, StringComparison.OrdinalIgnoreCase)))
        {
            return new StreamedTrip(result, recorded, request.HttpContext.RequestServices.GetRequiredService<TripProgress>(), request.HttpContext.RequestServices.GetRequiredService<TimeProvider>());
        }

        return ApiJson.Response(w => StreamedTrip.WriteAnswer(w, result.Created, result.Record, recorded), result.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> RestoreClient(string id, HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, IPolicyProvider policy, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        if (policy.Current.FindClient(id) is null)
        {
            return UnknownClient(id);
        }

        return await RestoreAsync(id, request, user, engine, recorder, cancellationToken);
    }

    private static Task<IResult> RestoreAll(HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, OperatorActionRecorder recorder, CancellationToken cancellationToken) =>
        RestoreAsync(SuspensionNames.AllClients, request, user, engine, recorder, cancellationToken);

    private static async Task<IResult> RestoreAsync(string scope, HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ApiRequests.ReadReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (!engine.Current.Suspensions.TryGetValue(scope, out var suspension))
        {
            // A client covered by the site-wide suspension alone has nothing of its own to lift: say what holds it.
            return scope != SuspensionNames.AllClients && engine.Current.Suspensions.TryGetValue(SuspensionNames.AllClients, out var siteWide)
                ? Results.Problem(
                    statusCode: StatusCodes.Status409Conflict,
                    title: "Suspended site-wide",
                    detail: $"'{scope}' is suspended by the site-wide suspension {siteWide.Id}, not one of its own: lift it with POST /api/v1/restore-all (segctl restore --all), which restores every client",
                    extensions: new Dictionary<string, object?> { ["restore_id"] = siteWide.Id, ["scope"] = SuspensionNames.AllClients })
                : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not suspended", detail: $"'{scope}' is not suspended");
        }

        // Lifting a suspension without a record is not allowed: record the request first.
        if (await RecordOrProblemAsync(recorder, user, "restore-request", scope, reason!, "requested", suspension.Id, cancellationToken) is { } unrecorded)
        {
            return unrecorded;
        }

        // Bound to the suspension looked at (and recorded) above: one lifted and tripped again while the
        // record was written is a new event, not the one this request is about.
        var outcome = await engine.RequestRestoreAsync(scope, suspension.Id, OperatorActionRecorder.ActorOf(user), reason!, cancellationToken);
        var recorded = await recorder.TryRecordAsync(user, "restore-request", scope, reason!, ApiJson.Name(outcome.Status),
            new Dictionary<string, string?> { ["restore_id"] = suspension.Id, ["message"] = outcome.Message }, cancellationToken);
        return RestoreResult(scope, suspension.Id, outcome, recorded, engine.Current);
    }

    private static async Task<IResult> Approve(string id, HttpRequest request, ClaimsPrincipal user, SuspensionEngine engine, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ApiRequests.ReadReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        // A restore is identified by the suspension it would lift: one pending restore per suspension.
        var state = engine.Current;
        var scope = state.Suspensions.Values.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.Ordinal))?.Scope;
        if (scope is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown restore", detail: $"no suspension in force has restore id '{id}'");
        }

        // The approval is for this suspension and the request pending for it now; whatever replaces either
        // while the approval is recorded (a lift and a new trip, a re-trip and a new request) is not approved.
        var seen = state.PendingRestores.TryGetValue(scope, out var pending) && string.Equals(pending.SuspensionId, id, StringComparison.Ordinal) ? pending : null;

        if (await RecordOrProblemAsync(recorder, user, "restore-approve", scope, reason!, "requested", id, cancellationToken) is { } unrecorded)
        {
            return unrecorded;
        }

        var outcome = await engine.ApproveRestoreAsync(scope, id, seen, OperatorActionRecorder.ActorOf(user), cancellationToken);
        var recorded = await recorder.TryRecordAsync(user, "restore-approve", scope, reason!, ApiJson.Name(outcome.Status),
            new Dictionary<string, string?> { ["restore_id"] = id, ["message"] = outcome.Message }, cancellationToken);
        return RestoreResult(scope, id, outcome, recorded, engine.Current);
    }

    private static async Task<IResult> VerifyLog(ClaimsPrincipal user, OperatorActionRecorder recorder, IServiceProvider services, CancellationToken cancellationToken)
    {
        var report = await recorder.Store.VerifyAsync(cancellationToken);
        if (report.Problem is { } broken)
        {
            services.GetService<Evidence.StoreIntegrityAlerts>()?.VerificationFailed($"verification asked for by {OperatorActionRecorder.ActorOf(user)}", broken);
        }

        return ApiJson.Response(w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("intact", report.IsIntact);
            w.WriteNumber("records", report.Count);
            w.WriteNumber("signed_through", report.SignedThrough);
            w.WriteString("head_hash", report.HeadHash);
            w.WritePropertyName("problem");
            if (report.Problem is { } p)
            {
                w.WriteStartObject();
                w.WriteNumber("index", p.Index);
                if (p.Time is { } at)
                {
                    w.WriteString("time", at);
                }

                w.WriteString("reason", p.Reason);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteStartArray("warnings");
            foreach (var warning in report.Warnings)
            {
                w.WriteStringValue(warning);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> ExportLog(HttpContext context, ClaimsPrincipal user, IPolicyProvider policy, OperatorActionRecorder recorder, TimeProvider time, string? from, string? to, string? client, CancellationToken cancellationToken)
    {
        if (!TryTime(from, out var fromTime) || !TryTime(to, out var toTime))
        {
            return ApiRequests.BadRequest($"bad time: from and to must each be {IsoTime.Expected} (a date is its 00:00 UTC; a time without Z or an offset is UTC)");
        }

        if (fromTime > toTime)
        {
            return ApiRequests.BadRequest($"bad time: from ({from}) is later than to ({to}): the window holds nothing");
        }

        if (client is not null && !ClientKey.IsValid(client))
        {
            return ApiRequests.BadRequest("client must be a client id: 1 to 64 of A-Z a-z 0-9 . _ -");
        }

        // An export for a name that is no client would be an empty one, and its record a record of nobody:
        // refused before anything is recorded. A former client (named by a policy on record, gone from the
        // one in force) still has evidence kept past its contract, and so an export.
        if (client is not null && policy.Current.FindClient(client) is null)
        {
            try
            {
                if (!StoreFile.Clients(policy.Current.Controller.Store.Path).Contains(client, StringComparer.Ordinal))
                {
                    return UnknownClient(client);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Export failed", detail: e.Message);
            }
        }

        var query = new RecordQuery { From = fromTime, To = toTime, Client = client };
        // Who took personal data out of the controller is itself evidence.
        if (await RecordOrProblemAsync(recorder, user, "log-export", client, $"export from={from ?? "-"} to={to ?? "-"}", "requested", null, cancellationToken) is { } unrecorded)
        {
            return unrecorded;
        }

        // The exporter writes synchronously; a temporary file with no name keeps memory bounded whatever the size,
        // and leaves nothing behind if the controller dies mid-export.
        FileStream stream;
        try
        {
            stream = ExportSpool.Create(Path.GetTempPath());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Export failed", detail: $"the export could not be spooled to the temporary directory: {e.Message}");
        }

        try
        {
            await Task.Run(() => EvidenceExport.Write(policy.Current.Controller.Store.Path, query, stream, time.GetUtcNow(), cancellationToken), cancellationToken);
            stream.Position = 0;
            context.Response.RegisterForDisposeAsync(stream);
            return Results.Stream(stream, "application/jsonl", "segctl-evidence-export.jsonl");
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or StoreUnavailableException)
        {
            await stream.DisposeAsync();
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Export failed", detail: e.Message);
        }
        catch
        {
            // The caller went away (cancelled) or the export broke otherwise: the spool's handle goes now, not at a collection.
            await stream.DisposeAsync();
            throw;
        }
    }

    private static async Task<IResult?> RecordOrProblemAsync(OperatorActionRecorder recorder, ClaimsPrincipal user, string action, string? scope, string reason, string outcome, string? id, CancellationToken cancellationToken)
    {
        try
        {
            await recorder.RecordAsync(user, action, scope, reason, outcome, id is null ? null : new Dictionary<string, string?> { ["restore_id"] = id }, cancellationToken);
            return null;
        }
        catch (StoreUnavailableException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Evidence store unavailable", detail: $"the action was not taken because it could not be recorded: {e.Message}");
        }
    }

    private static IResult RestoreResult(string scope, string restoreId, RestoreOutcome outcome, long? recorded, SuspensionState now)
    {
        if (outcome.Status == RestoreStatus.Refused)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Restore refused",
                detail: outcome.Message,
                extensions: new Dictionary<string, object?> { ["restore_id"] = restoreId, ["approvers"] = outcome.Approvers.ToArray(), ["required"] = outcome.Required });
        }

        // A client's own suspension lifted while the site-wide one is in force: the client is still cut off, and
        // "restored" alone would read as if it were not.
        var heldBy = outcome.Status == RestoreStatus.Restored && scope != SuspensionNames.AllClients
            && now.Suspensions.TryGetValue(SuspensionNames.AllClients, out var siteWide) ? siteWide.Id : null;
        var message = heldBy is null
            ? outcome.Message
            : $"{outcome.Message}; '{scope}' stays suspended by the site-wide suspension {heldBy} until that is lifted (POST /api/v1/restore-all, segctl restore --all)";
        return ApiJson.Response(w =>
        {
            w.WriteStartObject();
            w.WriteString("restore_id", restoreId);
            w.WriteString("scope", scope);
            w.WriteString("status", ApiJson.Name(outcome.Status));
            w.WriteString("message", message);
            if (heldBy is not null)
            {
                w.WriteString("still_suspended_by", heldBy);
            }

            w.WriteStartArray("approvers");
            foreach (var approver in outcome.Approvers)
            {
                w.WriteStringValue(approver);
            }

            w.WriteEndArray();
            w.WriteNumber("required", outcome.Required);
            WriteRecorded(w, recorded);
            w.WriteEndObject();
        }, outcome.Status == RestoreStatus.PendingApproval ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    private static void WriteRecorded(Utf8JsonWriter w, long? index)
    {
        w.WritePropertyName("record_index");
        if (index is { } i)
        {
            w.WriteNumberValue(i);
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static IResult UnknownClient(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown client", detail: $"'{id}' is not a client of this site");

    private static bool TryTime(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (text is null)
        {
            return true;
        }

        if (IsoTime.TryParse(text, out var parsed))
        {
            value = parsed;
            return true;
        }

        return false;
    }
}
