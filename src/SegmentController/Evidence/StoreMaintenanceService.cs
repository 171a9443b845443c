using System.Globalization;
using Microsoft.Extensions.Options;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Health;

namespace SegmentController.Evidence;

/// <summary>
/// Keeps the evidence store in order inside <c>segctl run</c>: publishes the <c>log-integrity-failure</c>
/// findings <see cref="StoreIntegrityAlerts"/> raises; appends the records the controller owes the chain
/// (<see cref="OwedRecords"/>), in order, retrying until the store takes them; purges what is past its
/// retention (contract end + 6 years, from the policy in force) every <see cref="StoreMaintenanceOptions.PurgeInterval"/>;
/// and verifies the whole chain every <see cref="StoreMaintenanceOptions.VerifyInterval"/> (verification
/// source <c>chain</c>: healthy after a verification that held, unhealthy after one that did not).
/// </summary>
/// <remarks>No loop ends on a failure but cancellation: a maintenance task that died would look like one with nothing to do.</remarks>
internal sealed partial class StoreMaintenanceService(
    IEvidenceStore store,
    IPolicyProvider policy,
    StoreIntegrityAlerts alerts,
    OwedRecords owed,
    IFindingSink findings,
    VerificationHealth health,
    IOptions<StoreMaintenanceOptions> options,
    TimeProvider time,
    ILogger<StoreMaintenanceService> logger) : BackgroundService
{
    /// <summary>The verification source reporting the background verification.</summary>
    public const string ChainSource = "chain";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(
                PublishAlertsAsync(stoppingToken),
                WriteOwedAsync(stoppingToken),
                EveryAsync(options.Value.PurgeInterval, PurgeOnceAsync, stoppingToken),
                EveryAsync(options.Value.VerifyInterval, VerifyOnceAsync, stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Purges what expired under the policy in force; returns the result (null when the store refused).</summary>
    public async Task<PurgeResult?> PurgeOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await Retention.PurgeExpiredAsync(store, policy.Current.Clients, time, cancellationToken).ConfigureAwait(false);
            Log.PurgeCompleted(logger, result.PurgedCount, result.PurgeRecordIndex, string.Join(", ", result.Clients));
            return result;
        }
        catch (StoreUnavailableException e)
        {
            Log.PurgeFailed(logger, e.Message);
            return null;
        }
    }

    /// <summary>Verifies the whole chain; a broken one raises <c>log-integrity-failure</c>.</summary>
    public async Task<VerificationReport?> VerifyOnceAsync(CancellationToken cancellationToken)
    {
        VerificationReport report;
        try
        {
            report = await store.VerifyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidOperationException or IOException)
        {
            Log.VerificationNotRun(logger, e.Message);
            health.Report(ChainSource, healthy: false, $"not verified: {e.Message}");
            return null;
        }

        if (report.Problem is { } problem)
        {
            Log.VerificationFailed(logger, problem.Index, problem.Reason);
            health.Report(ChainSource, healthy: false, string.Create(CultureInfo.InvariantCulture, $"first bad record {problem.Index}: {problem.Reason}"));
            alerts.VerificationFailed("scheduled verification", problem);
        }
        else
        {
            Log.VerificationPassed(logger, report.Count, report.SignedThrough);
            health.Report(ChainSource, healthy: true, string.Create(CultureInfo.InvariantCulture, $"{report.Count} records intact"));
        }

        return report;
    }

    private async Task EveryAsync(TimeSpan interval, Func<CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        await Task.Delay(options.Value.StartDelay, time, stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            await work(stoppingToken).ConfigureAwait(false);
            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task PublishAlertsAsync(CancellationToken stoppingToken)
    {
        await foreach (var finding in alerts.Pending.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await findings.PublishAsync([finding], stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store cannot record the finding it is about; the pipeline's other consumers (metrics,
                // suspension) ran all the same.
                Log.AlertNotHandled(logger, e.Message);
            }
        }
    }

    private async Task WriteOwedAsync(CancellationToken stoppingToken)
    {
        await foreach (var record in owed.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    var index = await store.AppendAsync(record.Type, record.Clients, record.Payload, stoppingToken).ConfigureAwait(false);
                    Log.OwedRecordWritten(logger, record.What, index);
                    break;
                }
                catch (StoreUnavailableException e)
                {
                    Log.RecordOwed(logger, record.What, e.Message);
                    await Task.Delay(options.Value.RetryInterval, time, stoppingToken).ConfigureAwait(false);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EvidenceEventIds.IntegrityAlertNotHandled, LogLevel.Error, "log-integrity-failure not handled by every finding consumer: {Reason}")]
        public static partial void AlertNotHandled(ILogger logger, string reason);

        [LoggerMessage(EvidenceEventIds.RecordOwed, LogLevel.Critical, "The evidence store refused the record of {What}; retrying: {Reason}")]
        public static partial void RecordOwed(ILogger logger, string what, string reason);

        [LoggerMessage(EvidenceEventIds.OwedRecordWritten, LogLevel.Information, "Recorded {What} (record {Index})")]
        public static partial void OwedRecordWritten(ILogger logger, string what, long index);

        [LoggerMessage(EvidenceEventIds.PurgeCompleted, LogLevel.Information, "Retention purge: {Count} records past retention emptied (purge record {Index}; clients past retention: {Clients})")]
        public static partial void PurgeCompleted(ILogger logger, long count, long index, string clients);

        [LoggerMessage(EvidenceEventIds.PurgeFailed, LogLevel.Error, "Retention purge not done: {Reason}")]
        public static partial void PurgeFailed(ILogger logger, string reason);

        [LoggerMessage(EvidenceEventIds.VerificationPassed, LogLevel.Information, "Evidence chain verified: {Count} records intact, signed through {SignedThrough}")]
        public static partial void VerificationPassed(ILogger logger, long count, long signedThrough);

        [LoggerMessage(EvidenceEventIds.VerificationFailed, LogLevel.Critical, "Evidence chain verification FAILED at record {Index}: {Reason}")]
        public static partial void VerificationFailed(ILogger logger, long index, string reason);

        [LoggerMessage(EvidenceEventIds.VerificationNotRun, LogLevel.Error, "Evidence chain not verified: {Reason}")]
        public static partial void VerificationNotRun(ILogger logger, string reason);
    }
}
