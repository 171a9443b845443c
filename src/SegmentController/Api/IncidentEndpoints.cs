using System.Security.Claims;
using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Incidents;

namespace SegmentController.Api;

/// <summary>
/// Incidents in the operator API. Anyone reads them (<c>GET /incidents</c>, by state or with a notice still
/// owed, and <c>GET /incidents/{id}</c>);
/// everyone but viewers adds investigation notes; operators and admins open one on their own word (its
/// clients' 8-hour clocks start then, their notices go out at once), set the likely consequences and close
/// it, and record a notice given by other means (a client no webhook reached). Each change is recorded twice: who did it and why (<c>operator-action</c>, before the change), and
/// the incident as it now stands (<c>incident-event</c>, with the actor on its timeline).
/// </summary>
internal static class IncidentEndpoints
{
    private const int MaxIdLength = 64;

    /// <summary>Maps the incident routes onto the <c>/api/v1</c> group.</summary>
    public static RouteGroupBuilder MapIncidents(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/incidents", List);
        api.MapGet("/incidents/{id}", Show);
        api.MapPost("/incidents", Open).RequireAuthorization(ApiRoles.CanSuspend);
        api.MapPost("/incidents/{id}/notes", Note).RequireAuthorization(ApiRoles.CanAnnotate);
        api.MapPut("/incidents/{id}/consequences", Consequences).RequireAuthorization(ApiRoles.CanSuspend);
        api.MapPost("/incidents/{id}/close", Close).RequireAuthorization(ApiRoles.CanSuspend);
        api.MapPost("/incidents/{id}/notice", Notice).RequireAuthorization(ApiRoles.CanSuspend);
        return api;
    }

    /// <summary>
    /// Every incident, or those in one state (<c>status=open|closed</c>), or those whose notice is still owed
    /// to a client (<c>notice=owed</c>: not given, whether its deadline passed or not, whatever the incident's
    /// state); both filters together select incidents that pass both.
    /// </summary>
    private static IResult List(IncidentManager incidents, string? status, string? notice)
    {
        if (status is not (null or "open" or "closed"))
        {
            return ApiRequests.BadRequest("status must be 'open' or 'closed'");
        }

        if (notice is not (null or "owed"))
        {
            return ApiRequests.BadRequest("notice must be 'owed'");
        }

        var selected = incidents.Incidents
            .Where(i => status is null || string.Equals(Name(i.Status), status, StringComparison.Ordinal))
            .Where(i => notice is null || i.NoticesOwed.Count > 0)
            .ToArray();
        return ApiJson.Response(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("incidents");
            foreach (var incident in selected)
            {
                IncidentJson.Write(w, incident, "current");
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static IResult Show(string id, IncidentManager incidents) =>
        Find(incidents, id) is { } incident
            ? ApiJson.Response(w => IncidentJson.Write(w, incident, "current"))
            : Unknown(id);

    private static async Task<IResult> Open(HttpRequest request, ClaimsPrincipal user, IncidentManager incidents, IPolicyProvider policy, OperatorActionRecorder recorder, IServiceProvider services, CancellationToken cancellationToken)
    {
        var (nature, clients, reason, problem) = await ApiRequests.ReadIncidentAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (clients!.FirstOrDefault(c => policy.Current.FindClient(c) is null) is { } unknown)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown client", detail: $"'{unknown}' is not a client of this site");
        }

        var scope = clients!.Count == 1 ? clients[0] : null;
        if (await RecordAsync(recorder, user, "incident-open", scope, reason ?? nature!, new() { ["clients"] = string.Join(",", clients), ["nature"] = nature }, cancellationToken) is { } unrecorded)
        {
            return unrecorded;
        }

        Incident incident;
        try
        {
            incident = await incidents.RecordOpenedAsync(OperatorActionRecorder.ActorOf(user), nature!, clients, reason, cancellationToken);
        }
        catch (StoreUnavailableException e)
        {
            return StoreDown(e);
        }

        // The notice goes out now and is retried in the background until given or due: not on this request.
        if (services.GetService<IncidentNotices>() is { } notices)
        {
            notices.Start(incident.Id);
        }

        return ApiJson.Response(w => IncidentJson.Write(w, incident, "current"), StatusCodes.Status201Created);
    }

    private static async Task<IResult> Note(string id, HttpRequest request, ClaimsPrincipal user, IncidentManager incidents, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (note, problem) = await ApiRequests.ReadNoteAsync(request, cancellationToken);
        return problem ?? await ChangeAsync(id, incidents, recorder, user, "incident-note", note!, StatusCodes.Status201Created,
            actor => incidents.AddNoteAsync(id, actor, note!, cancellationToken), cancellationToken);
    }

    private static async Task<IResult> Consequences(string id, HttpRequest request, ClaimsPrincipal user, IncidentManager incidents, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (text, problem) = await ApiRequests.ReadConsequencesAsync(request, cancellationToken);
        return problem ?? await ChangeAsync(id, incidents, recorder, user, "incident-consequences", text!, StatusCodes.Status200OK,
            actor => incidents.SetConsequencesAsync(id, actor, text!, cancellationToken), cancellationToken);
    }

    private static async Task<IResult> Notice(string id, HttpRequest request, ClaimsPrincipal user, IncidentManager incidents, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (client, how, problem) = await ApiRequests.ReadNoticeAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (Find(incidents, id) is { } existing)
        {
            if (existing.NoticeFor(client!) is not { } notice)
            {
                return ApiRequests.BadRequest($"incident '{id}' does not concern '{client}'");
            }

            // Refused before anything is recorded, as a second close is: the chain must not show a notice asked for
            // that was never given.
            if (notice.GivenAt is { } given)
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: $"{client} had notice of incident {id} already ({given.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)})");
            }
        }

        return await ChangeAsync(id, incidents, recorder, user, "incident-notice", how!, StatusCodes.Status200OK,
            actor => incidents.RecordNoticeGivenAsync(id, client!, actor, how!, cancellationToken), cancellationToken);
    }

    private static async Task<IResult> Close(string id, HttpRequest request, ClaimsPrincipal user, IncidentManager incidents, OperatorActionRecorder recorder, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ApiRequests.ReadReasonAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (Find(incidents, id) is { Status: IncidentStatus.Closed })
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Incident closed", detail: $"incident '{id}' is closed already");
        }

        return await ChangeAsync(id, incidents, recorder, user, "incident-close", reason!, StatusCodes.Status200OK,
            actor => incidents.CloseAsync(id, actor, reason!, cancellationToken), cancellationToken);
    }

    /// <summary>Who asks and why on record first, then the change (which the manager records itself).</summary>
    private static async Task<IResult> ChangeAsync(string id, IncidentManager incidents, OperatorActionRecorder recorder, ClaimsPrincipal user, string action, string reason, int status, Func<string, Task<Incident>> change, CancellationToken cancellationToken)
    {
        if (Find(incidents, id) is not { } existing)
        {
            return Unknown(id);
        }

        var scope = existing.Clients.Count == 1 ? existing.Clients[0] : null;
        if (await RecordAsync(recorder, user, action, scope, reason, new() { ["incident_id"] = id }, cancellationToken) is { } unrecorded)
        {
            return unrecorded;
        }

        try
        {
            var changed = await change(OperatorActionRecorder.ActorOf(user));
            return ApiJson.Response(w => IncidentJson.Write(w, changed, "current"), status);
        }
        catch (KeyNotFoundException)
        {
            return Unknown(id);
        }
        catch (IncidentFullException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Incident record full", detail: e.Message);
        }
        catch (InvalidOperationException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: e.Message);
        }
        catch (StoreUnavailableException e)
        {
            return StoreDown(e);
        }
    }

    private static async Task<IResult?> RecordAsync(OperatorActionRecorder recorder, ClaimsPrincipal user, string action, string? scope, string reason, Dictionary<string, string?> details, CancellationToken cancellationToken)
    {
        try
        {
            await recorder.RecordAsync(user, action, scope, reason, "requested", details, cancellationToken);
            return null;
        }
        catch (StoreUnavailableException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Evidence store unavailable", detail: $"the action was not taken because it could not be recorded: {e.Message}");
        }
    }

    private static Incident? Find(IncidentManager incidents, string id) =>
        id.Length is 0 or > MaxIdLength ? null : incidents.Incidents.FirstOrDefault(i => string.Equals(i.Id, id, StringComparison.Ordinal));

    private static string Name(IncidentStatus status) => status == IncidentStatus.Open ? "open" : "closed";

    private static IResult StoreDown(StoreUnavailableException e) =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Evidence store unavailable", detail: e.Message);

    private static IResult Unknown(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown incident", detail: $"no incident '{(id.Length > MaxIdLength ? id[..MaxIdLength] + "…" : id)}'");
}
