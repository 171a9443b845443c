using System.Security.Claims;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Api;

/// <summary>
/// Writes every operator action to the tamper-evident store as an <see cref="RecordTypes.OperatorAction"/>
/// record: action, actor, how they authenticated, reason, scope, outcome and the controller's time.
/// </summary>
/// <remarks>
/// An action on one client is recorded under its key and goes in full into its evidence export: the
/// operator's text on it (the reason, the details: an incident's nature, an external auditor) is that
/// client's view of it, other clients' ids, names, addresses, hosts, VLANs, ports and MACs replaced
/// (<see cref="ClientRedactor"/>, under the policy in force). A site-wide action keeps the text as written.
/// </remarks>
internal sealed partial class OperatorActionRecorder(IEvidenceStore store, IPolicyProvider policy, TimeProvider time, ILogger<OperatorActionRecorder> logger)
{
    /// <summary>The store the actions go to.</summary>
    public IEvidenceStore Store => store;

    /// <summary>Appends one action and returns its index once durable.</summary>
    /// <exception cref="StoreUnavailableException">The record could not be made durable.</exception>
    public async Task<long> RecordAsync(ClaimsPrincipal user, string action, string? scope, string reason, string outcome, IReadOnlyDictionary<string, string?>? details, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var actor = ActorOf(user);
        var siteWide = scope is null || scope == SuspensionNames.AllClients;
        var redactor = siteWide ? null : new ClientRedactor(scope!, [], policy.Current);
        string? OwnView(string? text) => text is null || redactor is null ? text : redactor.Redact(text);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("action", action);
            writer.WriteString("actor", actor);
            writer.WriteString("auth", AuthOf(user));
            writer.WriteString("at", time.GetUtcNow());
            writer.WriteString("scope", scope);
            writer.WriteString("reason", OwnView(reason));
            writer.WriteString("outcome", outcome);
            foreach (var (key, value) in details ?? new Dictionary<string, string?>())
            {
                writer.WriteString(key, OwnView(value));
            }

            writer.WriteEndObject();
        }

        // A site-wide action ("*") is a site-wide record: kept regardless of any client's retention.
        var clients = siteWide ? null : ClientKey.Of([scope!]);
        var index = await store.AppendAsync(RecordTypes.OperatorAction, clients, buffer.ToArray(), cancellationToken);
        Log.Recorded(logger, action, actor, scope ?? "-", outcome, index);
        return index;
    }

    /// <summary>Best effort for records that follow an action already taken (a trip must never wait on the store).</summary>
    public async Task<long?> TryRecordAsync(ClaimsPrincipal user, string action, string? scope, string reason, string outcome, IReadOnlyDictionary<string, string?>? details, CancellationToken cancellationToken)
    {
        try
        {
            return await RecordAsync(user, action, scope, reason, outcome, details, cancellationToken);
        }
        catch (StoreUnavailableException e)
        {
            Log.NotRecorded(logger, action, ActorOf(user), e);
            return null;
        }
    }

    /// <summary>The operator as authenticated: the credential's name and how it was presented.</summary>
    public static Core.Audits.AuditRecorder RecorderOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new Core.Audits.AuditRecorder(ActorOf(user), AuthOf(user));
    }

    /// <summary>How the operator authenticated: <c>api-key</c> or <c>client-certificate</c>.</summary>
    public static string AuthOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirst("segctl:auth-method")?.Value ?? "unknown";
    }

    /// <summary>The operator's name as recorded.</summary>
    public static string ActorOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.Identity?.Name ?? "unknown";
    }

    private static partial class Log
    {
        [LoggerMessage(ApiEventIds.OperatorAction, LogLevel.Information, "Operator action {Action} by {Actor} on {Scope}: {Outcome} (record {Index})")]
        public static partial void Recorded(ILogger logger, string action, string actor, string scope, string outcome, long index);

        [LoggerMessage(ApiEventIds.ActionNotRecorded, LogLevel.Error, "Operator action {Action} by {Actor} could not be recorded in the store")]
        public static partial void NotRecorded(ILogger logger, string action, string actor, Exception exception);
    }
}
