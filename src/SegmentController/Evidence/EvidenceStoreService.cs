using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Hosting;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Evidence;

/// <summary>
/// Opens the SQLite evidence store from the policy's <c>controller.store</c> before anything else runs,
/// records the policy load, reports the store's write health as verification source <c>store</c>,
/// and closes it (with a final signed checkpoint) on stop.
/// </summary>
internal sealed partial class EvidenceStoreService(
    IPolicyProvider policy,
    DeferredEvidenceStore deferred,
    VerificationHealth health,
    TimeProvider time,
    ILogger<EvidenceStoreService> logger) : IHostedService, IAsyncDisposable
{
    public const string HealthSource = "store";

    private SqliteEvidenceStore? _store;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
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
                new StoreOptions { Path = settings.Path, SigningKeyFile = settings.SigningKeyFile, CheckpointInterval = settings.CheckpointInterval },
                time,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or IOException or UnauthorizedAccessException)
        {
            // Fail closed: appends keep failing (the proxy stops forwarding) and health says why.
            Log.StoreUnavailable(logger, settings.Path, e.Message);
            deferred.Fail(e.Message);
            health.Report(HealthSource, healthy: false, e.Message);
            return;
        }

        _store.HealthChanged += (_, h) => health.Report(HealthSource, h.IsWritable, h.LastError ?? "writable");
        deferred.Attach(_store);
        health.Report(HealthSource, healthy: true, "writable");
        var payload = Encoding.UTF8.GetBytes($$"""{"sha256":"{{current.Sha256}}","source":{{System.Text.Json.JsonSerializer.Serialize(current.SourcePath)}},"site":{{System.Text.Json.JsonSerializer.Serialize(current.Site.Id)}}}""");
        await _store.AppendAsync(RecordTypes.PolicyLoad, null, payload, cancellationToken).ConfigureAwait(false);
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
        [LoggerMessage(EventIds.EvidenceStoreUnavailable, LogLevel.Critical, "Evidence store {Path} cannot be opened: {Reason}; records will be refused (fail closed)")]
        public static partial void StoreUnavailable(ILogger logger, string path, string reason);
    }
}
