using SegmentController.Core.Suspension;
using SegmentController.Metrics;

namespace SegmentController.Proxy;

/// <summary>
/// Puts the kill switch into metrics and logs: <c>segctl_client_suspended</c>,
/// <c>segctl_killswitch_trips_total</c> and <c>segctl_killswitch_enforce_seconds{stage}</c>.
/// </summary>
/// <remarks>
/// <c>segctl_client_suspended</c> has one series per client of the policy in force: a reload that adds a
/// client gives it its value at once (1 under a site-wide suspension), and one that takes a client away
/// takes its series too.
/// </remarks>
internal sealed partial class SuspensionMetricsObserver : ISuspensionObserver, IDisposable
{
    private readonly ControllerMetrics _metrics;
    private readonly Core.Policy.IPolicyProvider _policy;
    private readonly ILogger<SuspensionMetricsObserver> _logger;
    private readonly Lock _lock = new();
    /// <summary>Scope → id of the suspension in force there, as the events told it.</summary>
    private readonly Dictionary<string, string> _suspendedScopes = new(StringComparer.Ordinal);
    /// <summary>The clients that have a <c>segctl_client_suspended</c> series.</summary>
    private readonly HashSet<string> _labelled = new(StringComparer.Ordinal);

    public SuspensionMetricsObserver(ControllerMetrics metrics, Core.Policy.IPolicyProvider policy, ILogger<SuspensionMetricsObserver> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(logger);
        _metrics = metrics;
        _policy = policy;
        _logger = logger;
        lock (_lock)
        {
            Publish();
        }

        policy.PolicyChanged += OnPolicyChanged;
    }

    public void Dispose() => _policy.PolicyChanged -= OnPolicyChanged;

    private void OnPolicyChanged(object? sender, Core.Policy.SitePolicy changed)
    {
        lock (_lock)
        {
            Publish();
        }
    }

    public void Tripped(SuspensionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);

        // The gauge first: a scrape that counts the trip also finds the client suspended.
        lock (_lock)
        {
            _suspendedScopes[record.Scope] = record.Id;
            Publish();
        }

        _metrics.KillswitchTripsTotal.WithLabels(record.Scope == SuspensionNames.AllClients ? Core.Policy.ReservedClientLabels.AllClients : record.Scope, SuspensionNames.Of(record.Trigger)).Inc();
        Log.Tripped(_logger, record.Scope, SuspensionNames.Of(record.Trigger), record.Actor, record.Reason);
    }

    public void InForceAtStart(SuspensionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Log.InForceAtStart(_logger, record.Scope, SuspensionNames.Of(record.Trigger), record.TrippedAt, record.Reason);
        lock (_lock)
        {
            _suspendedScopes[record.Scope] = record.Id;
            Publish();
        }
    }

    public void StageCompleted(SuspensionRecord record, StageTiming timing)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(timing);
        _metrics.KillswitchEnforceSeconds.WithLabels(SuspensionNames.Of(timing.Stage)).Observe(timing.Duration.TotalSeconds);
        if (!timing.Succeeded)
        {
            Log.StageFailed(_logger, SuspensionNames.Of(timing.Stage), record.Scope, timing.Detail ?? "");
        }
    }

    public void Restored(RestoreRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Log.Restored(_logger, record.Suspension.Scope, record.RequestedBy, string.Join(",", record.Approvers), record.Reason);
        lock (_lock)
        {
            // A restore is reported once its switch ports are up, which can be long after the lift: a trip of
            // the same scope in between is a new suspension, which this restore does not end.
            if (_suspendedScopes.TryGetValue(record.Suspension.Scope, out var id) && string.Equals(id, record.Suspension.Id, StringComparison.Ordinal))
            {
                _suspendedScopes.Remove(record.Suspension.Scope);
            }

            Publish();
        }
    }

    public void StateUnreadable(string message) => Log.StateUnreadable(_logger, message);

    public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(reassertion);
        var clients = string.Join(",", reassertion.Clients);
        var ports = string.Join(",", reassertion.Ports);
        var when = When(reassertion.Cause);
        if (reassertion.Verified)
        {
            Log.PortsReasserted(_logger, record.Scope, when, clients, ports, reassertion.Duration.TotalMilliseconds);
        }
        else
        {
            Log.PortsNotReasserted(_logger, record.Scope, when, clients, ports, string.Join("; ", reassertion.Failures));
        }
    }

    public void PortRetryFailed(SuspensionRecord record, PortReassertion attempt, TimeSpan retryIn)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(attempt);

        // The first failure was logged as an error (the trip's stage, or the reassertion); while the switch
        // stays unreachable each later try is logged at debug level until the tries are a cap apart: then
        // once per cap (a minute), as an error, for as long as the ports are not shut.
        var ports = string.Join(",", attempt.Ports);
        var failures = string.Join("; ", attempt.Failures);
        if (retryIn >= SuspensionEngine.PortRetryCap)
        {
            Log.PortsStillNotShut(_logger, record.Scope, ports, retryIn.TotalSeconds, failures);
        }
        else
        {
            Log.PortRetryFailed(_logger, record.Scope, ports, retryIn.TotalSeconds, failures);
        }
    }

    public void PortsBroughtUp(RestoreRecord restore, PortBringUp bringUp)
    {
        ArgumentNullException.ThrowIfNull(restore);
        ArgumentNullException.ThrowIfNull(bringUp);
        Log.RestorePortsBroughtUp(_logger, restore.Suspension.Scope, bringUp.Client, bringUp.Duration.TotalMilliseconds);
    }

    public void PortBringUpRetryFailed(RestoreRecord restore, PortBringUp attempt, TimeSpan retryIn)
    {
        ArgumentNullException.ThrowIfNull(restore);
        ArgumentNullException.ThrowIfNull(attempt);

        // As for shuts: the restore's own failure was logged with the restore; later tries at debug level
        // until they are a cap apart, then once per cap as an error, for as long as the ports stay down.
        var failures = string.Join("; ", attempt.Ports.Failures);
        if (retryIn >= SuspensionEngine.PortRetryCap)
        {
            Log.RestorePortsStillNotUp(_logger, restore.Suspension.Scope, attempt.Client, retryIn.TotalSeconds, failures);
        }
        else
        {
            Log.RestorePortRetryFailed(_logger, restore.Suspension.Scope, attempt.Client, retryIn.TotalSeconds, failures);
        }
    }

    public void OwedBringUpsNotSaved(IReadOnlyList<string> clients, string reason)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(reason);
        Log.RestoreOwedNotSaved(_logger, string.Join(",", clients), reason);
    }

    public void AmendmentNotSaved(SuspensionRecord record, string reason)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(reason);
        Log.SuspensionAmendmentNotSaved(_logger, record.Scope, record.Id, reason);
    }

    public void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(release);
        ArgumentNullException.ThrowIfNull(owners);
        // The site's own log: each port brought up with the client that has it now (client=switch:port).
        var broughtUp = release.BroughtUp.Count == 0
            ? "none"
            : string.Join(",", release.BroughtUp.Select(port => owners.TryGetValue(port, out var owner) ? $"{owner}={port}" : port));
        var leftShut = release.LeftShut.Count == 0 ? "none" : string.Join(",", release.LeftShut);
        if (release.Verified)
        {
            Log.PortsReleased(_logger, record.Scope, release.From, broughtUp, leftShut);
        }
        else
        {
            Log.PortsNotReleased(_logger, record.Scope, release.From, broughtUp, leftShut, string.Join("; ", release.Failures));
        }
    }

    private static string When(PortReassertionCause cause) => cause switch
    {
        PortReassertionCause.PolicyReload => "given new switch ports by a policy reload",
        PortReassertionCause.Retry => "retried after its switch ports did not read back down",
        _ => "in force at start-up",
    };

    private void Publish()
    {
        // The policy in force, not an event's: two reloads at once may raise their events out of order.
        var policy = _policy.Current;
        var all = _suspendedScopes.ContainsKey(SuspensionNames.AllClients);
        foreach (var client in policy.Clients)
        {
            _labelled.Add(client.Id);
            _metrics.ClientSuspended.WithLabels(client.Id).Set(all || _suspendedScopes.ContainsKey(client.Id) ? 1 : 0);
        }

        foreach (var gone in _labelled.Where(id => policy.FindClient(id) is null).ToArray())
        {
            _metrics.ClientSuspended.RemoveLabelled(gone);
            _labelled.Remove(gone);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.SuspensionTripped, LogLevel.Critical, "Suspended {Scope} ({Trigger}) by {Actor}: {Reason}")]
        public static partial void Tripped(ILogger logger, string scope, string trigger, string actor, string reason);

        [LoggerMessage(EventIds.SuspensionInForceAtStart, LogLevel.Warning, "Suspension of {Scope} ({Trigger}, since {TrippedAt:O}) in force at start-up: {Reason}")]
        public static partial void InForceAtStart(ILogger logger, string scope, string trigger, DateTimeOffset trippedAt, string reason);

        [LoggerMessage(EventIds.SuspensionStageFailed, LogLevel.Error, "Suspension stage {Stage} for {Scope} failed: {Detail}")]
        public static partial void StageFailed(ILogger logger, string stage, string scope, string detail);

        [LoggerMessage(EventIds.SuspensionRestored, LogLevel.Warning, "Restored {Scope}: requested by {Requester}, approved by {Approvers}: {Reason}")]
        public static partial void Restored(ILogger logger, string scope, string requester, string approvers, string reason);

        [LoggerMessage(EventIds.SuspensionPortsReasserted, LogLevel.Warning, "Suspension of {Scope} {When}: switch ports of {Clients} ({Ports}) shut and read back down in {Milliseconds:F1} ms")]
        public static partial void PortsReasserted(ILogger logger, string scope, string when, string clients, string ports, double milliseconds);

        [LoggerMessage(EventIds.SuspensionPortsNotReasserted, LogLevel.Error, "Suspension of {Scope} {When}: switch ports of {Clients} ({Ports}) NOT all shut: {Failures}")]
        public static partial void PortsNotReasserted(ILogger logger, string scope, string when, string clients, string ports, string failures);

        [LoggerMessage(EventIds.SuspensionPortRetryFailed, LogLevel.Debug, "Suspension of {Scope}: switch ports {Ports} still not shut; trying again in {Seconds:F0} s: {Failures}")]
        public static partial void PortRetryFailed(ILogger logger, string scope, string ports, double seconds, string failures);

        [LoggerMessage(EventIds.SuspensionPortsStillNotShut, LogLevel.Error, "Suspension of {Scope}: switch ports {Ports} still NOT shut; trying again every {Seconds:F0} s until they are or the suspension is lifted: {Failures}")]
        public static partial void PortsStillNotShut(ILogger logger, string scope, string ports, double seconds, string failures);

        [LoggerMessage(EventIds.SuspensionPortsReleased, LogLevel.Warning, "Suspension of {Scope}: switch ports a policy reload took from {From}: brought up and read back up: {BroughtUp}; left shut (no client has them): {LeftShut}")]
        public static partial void PortsReleased(ILogger logger, string scope, string from, string broughtUp, string leftShut);

        [LoggerMessage(EventIds.SuspensionPortsNotReleased, LogLevel.Error, "Suspension of {Scope}: switch ports a policy reload took from {From}: NOT all brought up: {Failures} (to bring up: {BroughtUp}; left shut (no client has them): {LeftShut})")]
        public static partial void PortsNotReleased(ILogger logger, string scope, string from, string broughtUp, string leftShut, string failures);

        [LoggerMessage(EventIds.RestorePortsBroughtUp, LogLevel.Warning, "Restore of {Scope}: switch ports of {Client}, which the restore could not read back up, brought up and read back up on a retry in {Milliseconds:F1} ms")]
        public static partial void RestorePortsBroughtUp(ILogger logger, string scope, string client, double milliseconds);

        [LoggerMessage(EventIds.RestorePortRetryFailed, LogLevel.Debug, "Restore of {Scope}: switch ports of {Client} still not up; trying again in {Seconds:F0} s: {Failures}")]
        public static partial void RestorePortRetryFailed(ILogger logger, string scope, string client, double seconds, string failures);

        [LoggerMessage(EventIds.RestorePortsStillNotUp, LogLevel.Error, "Restore of {Scope}: switch ports of {Client} still NOT up; trying again every {Seconds:F0} s until they are or the client is suspended again: {Failures}")]
        public static partial void RestorePortsStillNotUp(ILogger logger, string scope, string client, double seconds, string failures);

        [LoggerMessage(EventIds.RestoreOwedNotSaved, LogLevel.Error, "Restore: the switch ports owed a bring-up for {Clients} changed but could NOT be saved to the suspension state file ({Error}); saving it again 1 s, 2 s, 4 s … at most 60 s apart. Until then the file names ports as owed that are not, and a start would bring them up again")]
        public static partial void RestoreOwedNotSaved(ILogger logger, string clients, string error);

        [LoggerMessage(EventIds.SuspensionAmendmentNotSaved, LogLevel.Error, "Suspension of {Scope} ({Id}) is in force, but the change to its record (stage timings, ports read back, a reassertion or release) could NOT be saved to the suspension state file ({Error}); saving it again 1 s, 2 s, 4 s … at most 60 s apart, and with any other save of the state. Until then a start finds the record as it was last saved")]
        public static partial void SuspensionAmendmentNotSaved(ILogger logger, string scope, string id, string error);

        [LoggerMessage(EventIds.SuspensionStateUnreadable, LogLevel.Critical, "Suspension state unreadable, every client suspended: {Message}")]
        public static partial void StateUnreadable(ILogger logger, string message);
    }
}
