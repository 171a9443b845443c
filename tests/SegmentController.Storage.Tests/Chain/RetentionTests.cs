using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

public sealed class RetentionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;
    private readonly FakeTimeProvider _time = new(Stores.Start);
    private readonly ClientDefinition[] _clients =
    [
        Client("alpha", new DateOnly(2026, 6, 30)),
        Client("beta", new DateOnly(2030, 12, 31)),
    ];

    public RetentionTests() => _path = _dir.File("retention.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task BeforeRetentionEnds_NothingPurged()
    {
        await using var store = await Stores.OpenAsync(_path, _time);
        await FillAsync(store);
        _time.SetUtcNow(new DateTimeOffset(2032, 6, 30, 12, 0, 0, TimeSpan.Zero));

        var result = await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None);

        Assert.Equal(0, result.PurgedCount);
        Assert.Equal(-1, result.PurgeRecordIndex);
        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
    }

    [Fact]
    public async Task AfterRetentionEnds_OnlyExpiredClientPurged_RecordedAndStillVerifies()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await FillAsync(store);
            _time.SetUtcNow(new DateTimeOffset(2032, 7, 1, 0, 0, 1, TimeSpan.Zero));

            var result = await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None);

            Assert.Equal(5, result.PurgedCount);
            Assert.Equal(["alpha"], result.Clients);
            await store.AppendAsync(RecordTypes.Access, "beta", Stores.Json("""{"after":"purge"}"""), CancellationToken.None);
        }

        Assert.Equal(5, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL AND clients <> 'alpha'"));
        Assert.Equal(1, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE type = 'purge'"));
        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);

        var export = _dir.File("after-purge.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(_path, new RecordQuery(), stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var exported = ExportVerifier.Verify(export, CancellationToken.None);
        Assert.True(exported.IsIntact, exported.Problem?.Reason);
    }

    [Fact]
    public async Task PayloadRemovedWithoutPurge_IsEvidenceDestroyed()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await FillAsync(store);
        }

        Stores.Tamper(_path, "UPDATE records SET payload = NULL WHERE idx = 4");

        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.Equal(4, report.Problem!.Index);
        Assert.Contains("evidence destroyed", report.Problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedRecord_KeptWhileAnyClientRetains()
    {
        await using (var store = await Stores.OpenAsync(_path, _time))
        {
            await store.AppendAsync(RecordTypes.Finding, "alpha,beta", Stores.Json("""{"rule":"cross-client-flow"}"""), CancellationToken.None);
            _time.SetUtcNow(new DateTimeOffset(2033, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var result = await Retention.PurgeExpiredAsync(store, _clients, _time, CancellationToken.None);
            Assert.Equal(0, result.PurgedCount);
        }

        Assert.Equal(0, Stores.Query<long>(_path, "SELECT count(*) FROM records WHERE payload IS NULL"));
    }

    private async Task FillAsync(SqliteEvidenceStore store)
    {
        await Stores.FillAsync(store, 10, _time);
        await store.AppendAsync(RecordTypes.Finding, "alpha,beta", Stores.Json("""{"rule":"cross-client-flow"}"""), CancellationToken.None);
        await store.AppendAsync(RecordTypes.PolicyLoad, null, Stores.Json("""{"sha256":"00"}"""), CancellationToken.None);
    }

    private static ClientDefinition Client(string id, DateOnly contractEnd) => new()
    {
        Id = id,
        Name = id,
        ContractEnd = contractEnd,
        Segments = [],
    };
}
