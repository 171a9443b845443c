using System.Runtime.InteropServices;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Evidence;
using SegmentController.Metrics;

namespace SegmentController.Hosting;

/// <summary>
/// Reloads the policy on SIGHUP. A policy that does not validate is rejected with every error logged,
/// and the last good policy stays in force. Publishes <c>segctl_policy_info</c>. A policy that applies
/// but changes a setting read only at start-up (<see cref="RestartRequiredSettings"/>) is logged with
/// each such key and sets <c>segctl_policy_restart_required</c> until the policy agrees again with what
/// the process started with. Where the controller keeps evidence, every reload goes into the chain: an
/// applied one as a <c>policy-load</c> record (with the clients' retention), a rejected one as an
/// <c>operator-action</c> (<c>policy-reload</c>, outcome <c>rejected</c>, every error) — both written
/// in order and retried until the store takes them.
/// </summary>
internal sealed partial class PolicyReloadService : IHostedService, IDisposable
{
    private readonly IPolicyProvider _policy;
    private readonly ControllerMetrics _metrics;
    private readonly ILogger<PolicyReloadService> _logger;
    private readonly OwedRecords? _records;
    private readonly TimeProvider _time;
    private PosixSignalRegistration? _sighup;
    private SitePolicy? _published;
    private SitePolicy? _started;

    public PolicyReloadService(IPolicyProvider policy, ControllerMetrics metrics, ILogger<PolicyReloadService> logger, OwedRecords? records = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _policy = policy;
        _metrics = metrics;
        _logger = logger;
        _records = records;
        _time = time ?? TimeProvider.System;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _started = _policy.Current;
        _metrics.PolicyRestartRequired.Set(0);
        Publish(_policy.Current);
        _policy.PolicyChanged += OnPolicyChanged;
        if (_policy is IReloadablePolicyProvider && !OperatingSystem.IsWindows())
        {
            // Started with SIGHUP ignored (nohup): the reload takes it all the same (HangupSignal).
            if (HangupSignal.StopIgnoring())
            {
                Log.HangupWasIgnored(_logger);
            }

            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Reload();
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _policy.PolicyChanged -= OnPolicyChanged;
        _sighup?.Dispose();
        _sighup = null;
        return Task.CompletedTask;
    }

    public void Dispose() => _sighup?.Dispose();

    /// <summary>Reloads from the policy file; returns the errors (empty when applied).</summary>
    public IReadOnlyList<string> Reload()
    {
        if (_policy is not IReloadablePolicyProvider reloadable)
        {
            return ["this controller's policy cannot be reloaded"];
        }

        var before = _policy.Current;
        try
        {
            var errors = reloadable.Reload();
            if (errors.Count == 0)
            {
                _metrics.PolicyReloadsTotal.WithLabels("applied").Inc();
                return errors;
            }

            _metrics.PolicyReloadsTotal.WithLabels("rejected").Inc();
            Log.PolicyRejected(_logger, errors.Count, _policy.Current.Sha256);
            foreach (var error in errors)
            {
                Log.PolicyRejectedError(_logger, error);
            }

            RecordRejected(errors);
            return errors;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _metrics.PolicyReloadsTotal.WithLabels("rejected").Inc();
            Log.PolicyRejectedError(_logger, e.Message);
            RecordRejected([e.Message]);
            return [e.Message];
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A fault, not an error in the file: it must not end the controller (a SIGHUP's handler runs
            // on a thread of its own). The policy in force is reported as it is.
            if (ReferenceEquals(_policy.Current, before))
            {
                _metrics.PolicyReloadsTotal.WithLabels("rejected").Inc();
                Log.ReloadFault(_logger, _policy.Current.Sha256, e);
                RecordRejected([$"the reload failed: {e.Message}"]);
            }
            else
            {
                Log.ReloadAppliedWithFault(_logger, _policy.Current.Sha256, e);
            }

            return [$"the reload failed: {e.Message}"];
        }
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy)
    {
        Publish(policy);
        Log.PolicyApplied(_logger, policy.Site.Id, policy.Sha256);
        var changed = _started is null ? [] : RestartRequiredSettings.Changed(_started, policy);
        foreach (var key in changed)
        {
            Log.RestartRequired(_logger, key);
        }

        _metrics.PolicyRestartRequired.Set(changed.Count > 0 ? 1 : 0);
        _records?.Add(new OwedRecord(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(policy, PolicyLoadRecord.Reload), $"policy reload (sha256 {policy.Sha256})"));
    }

    private void RecordRejected(IReadOnlyList<string> errors)
    {
        if (_records is null)
        {
            return;
        }

        var inForce = _policy.Current;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("action", "policy-reload");
            w.WriteString("actor", "SIGHUP");
            w.WriteString("at", _time.GetUtcNow());
            w.WriteString("scope", (string?)null);
            w.WriteString("reason", $"reload of {inForce.SourcePath}");
            w.WriteString("outcome", "rejected");
            w.WriteString("policy_in_force_sha256", inForce.Sha256);
            w.WriteStartArray("errors");
            foreach (var error in errors.Take(100))
            {
                w.WriteStringValue(error);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        _records.Add(new OwedRecord(RecordTypes.OperatorAction, null, buffer.ToArray(), $"rejected policy reload ({errors.Count} errors)"));
    }

    private void Publish(SitePolicy policy)
    {
        lock (_metrics)
        {
            if (_published is not null)
            {
                _metrics.PolicyInfo.RemoveLabelled(_published.Site.Id, _published.Sha256);
            }

            _metrics.PolicyInfo.WithLabels(policy.Site.Id, policy.Sha256).Set(1);
            _published = policy;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.HangupWasIgnored, LogLevel.Warning, "segctl was started with SIGHUP ignored (nohup?); SIGHUP reloads the policy all the same, a hangup of the terminal included")]
        public static partial void HangupWasIgnored(ILogger logger);

        [LoggerMessage(EventIds.PolicyApplied, LogLevel.Information, "Policy of site {Site} in force (sha256 {Sha256})")]
        public static partial void PolicyApplied(ILogger logger, string site, string sha256);

        [LoggerMessage(EventIds.PolicyRejected, LogLevel.Error, "Policy reload rejected with {Count} error(s); the policy in force stays (sha256 {Sha256})")]
        public static partial void PolicyRejected(ILogger logger, int count, string sha256);

        [LoggerMessage(EventIds.PolicyRejectedError, LogLevel.Error, "{Error}")]
        public static partial void PolicyRejectedError(ILogger logger, string error);

        [LoggerMessage(EventIds.PolicyRejected, LogLevel.Critical, "Policy reload failed with an internal error; the policy in force stays (sha256 {Sha256})")]
        public static partial void ReloadFault(ILogger logger, string sha256, Exception exception);

        [LoggerMessage(EventIds.PolicyApplied, LogLevel.Critical, "Policy (sha256 {Sha256}) is in force, but a component failed while taking it")]
        public static partial void ReloadAppliedWithFault(ILogger logger, string sha256, Exception exception);

        [LoggerMessage(EventIds.PolicyRestartRequired, LogLevel.Warning, "Policy reload: {Key} differs from the value segctl started with and takes effect only after a restart; until then the running process keeps its start-up value")]
        public static partial void RestartRequired(ILogger logger, string key);
    }
}
