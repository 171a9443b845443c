using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Hosting;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Evidence;

/// <summary>
/// Opens the SQLite evidence store from the policy's <c>controller.store</c> before anything else runs
/// (rotating its signing key when <c>previous_signing_key_file</c> names the chain's current one), records
/// the policy load, reports the store's write health as verification source <c>store</c>, and closes it
/// (with a final signed checkpoint) on stop. It never fails the start: a store that cannot be opened, or
/// that refuses the policy load, leaves the controller running closed — every append refused, the proxy
/// not forwarding, <c>log-integrity-failure</c> raised — and the policy load is retried until recorded.
/// </summary>
internal sealed partial class EvidenceStoreService(
    IPolicyProvider policy,
    DeferredEvidenceStore deferred,
    StoreIntegrityAlerts alerts,
    OwedRecords owed,
    VerificationHealth health,
    TimeProvider time,
    ILogger<EvidenceStoreService> logger) : IHostedService, IAsyncDisposable
{
    public const string HealthSource = "store";

    private SqliteEvidenceStore? _store;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolved with this service, the alerts hear the store's very first health change (a failed open).
        _ = alerts;
        health.Expect(HealthSource);
        var current = policy.Current;
        var settings = current.Controller.Store;
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(settings.Path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            _store = await SqliteEvidenceStore.OpenAsync(
                new StoreOptions
                {
                    Path = settings.Path,
                    SigningKeyFile = settings.SigningKeyFile,
                    PreviousSigningKeyFile = settings.PreviousSigningKeyFile,
                    CheckpointInterval = settings.CheckpointInterval,
                    Notice = line => Log.StoreNotice(logger, settings.Path, line),
                },
                time,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or IOException or UnauthorizedAccessException)
        {
            // Fail closed: appends keep failing (the proxy stops forwarding), health says why, and the
            // alert is raised (the deferred store's health change).
            Log.StoreUnavailable(logger, settings.Path, e.Message);
            deferred.Fail(e.Message);
            health.Report(HealthSource, healthy: false, e.Message);
            return;
        }

        _store.HealthChanged += (_, h) => health.Report(HealthSource, h.IsWritable, h.LastError ?? "writable");
        deferred.Attach(_store);
        health.Report(HealthSource, healthy: true, "writable");
        if (settings.PreviousSigningKeyFile is not null)
        {
            Log.KeyInForce(logger, _store.KeyId);
        }

        var load = new OwedRecord(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(current, PolicyLoadRecord.Start), $"policy load at start (sha256 {current.Sha256})");
        try
        {
            await _store.AppendAsync(load.Type, load.Clients, load.Payload, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            // The store marked itself unwritable (the proxy refuses, the alert is raised); the load is
            // written once it recovers.
            Log.StoreUnavailable(logger, settings.Path, e.Message);
            owed.Add(load);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_store is { } store)
        {
            _store = null;
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.EvidenceStoreUnavailable, LogLevel.Critical, "Evidence store {Path} unavailable: {Reason}; records will be refused (fail closed)")]
        public static partial void StoreUnavailable(ILogger logger, string path, string reason);

        [LoggerMessage(EvidenceEventIds.SigningKeyRotated, LogLevel.Information, "Evidence store signing key in force: {KeyId} (a rotation from previous_signing_key_file is recorded in the chain, endorsed by the previous key)")]
        public static partial void KeyInForce(ILogger logger, string keyId);

        [LoggerMessage(EvidenceEventIds.StoreNotice, LogLevel.Warning, "Evidence store {Path}: {Notice}")]
        public static partial void StoreNotice(ILogger logger, string path, string notice);
    }
}
