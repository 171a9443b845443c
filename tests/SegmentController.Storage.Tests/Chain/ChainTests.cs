using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

public sealed class ChainTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CleanStore_Verifies_WithCount()
    {
        var path = _dir.File("clean.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            var indexes = await Stores.FillAsync(store, 50);
            Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), indexes);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        // key-rotation + 50 access records + final checkpoint on close
        Assert.Equal(52, report.Count);
        Assert.Equal(51, report.SignedThrough);
        Assert.Single(report.KeyIds);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public async Task ConcurrentAppends_AllAcknowledged_ChainVerifies()
    {
        var path = _dir.File("concurrent.db");
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None))
        {
            var tasks = Enumerable.Range(0, 2000)
                .Select(i => store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":{{i}}}"""), CancellationToken.None).AsTask())
                .ToArray();
            var indexes = await Task.WhenAll(tasks);
            Assert.Equal(2000, indexes.Distinct().Count());
            Assert.True(store.Health.IsWritable);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(2002, report.Count);
    }

    [Fact]
    public async Task Reopen_ContinuesChain_SameKey()
    {
        var path = _dir.File("reopen.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 5);
        }

        await using (var store = await Stores.OpenAsync(path))
        {
            var index = await store.AppendAsync(RecordTypes.OperatorAction, null, Stores.Json("""{"action":"suspend"}"""), CancellationToken.None);
            Assert.Equal(7, index);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(9, report.Count);
    }

    [Fact]
    public async Task PeriodicCheckpoint_SignsHeadIntoChain()
    {
        var path = _dir.File("periodic.db");
        await using (var store = await Stores.OpenAsync(path, checkpointInterval: TimeSpan.FromMilliseconds(50)))
        {
            await Stores.FillAsync(store, 3);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (Stores.Query<long>(path, "SELECT count(*) FROM records WHERE type = 'checkpoint'") == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }

        Assert.True(Stores.Query<long>(path, "SELECT count(*) FROM records WHERE type = 'checkpoint'") >= 1);
        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task ReservedType_Refused()
    {
        await using var store = await Stores.OpenAsync(_dir.File("reserved.db"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(RecordTypes.Checkpoint, null, Stores.Json("{}"), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(RecordTypes.Access, "beta,alpha", Stores.Json("{}"), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync("Bad Type", null, Stores.Json("{}"), CancellationToken.None));
    }

    [Fact]
    public async Task KeyRotation_Endorsed_VerifiesWithBothKeys()
    {
        var path = _dir.File("rotate.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 3);
            await store.RotateKeyAsync(_dir.File("second.pem"), CancellationToken.None);
            await Stores.FillAsync(store, 3);
            await store.CheckpointAsync(CancellationToken.None);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(2, report.KeyIds.Count);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public async Task ForeignKey_RefusedUnlessAllowed_ThenWarned()
    {
        var path = _dir.File("foreign.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 2);
        }

        var other = _dir.File("other.pem");
        await Assert.ThrowsAsync<StoreUnavailableException>(() => SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = CreateKey(other), CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None));

        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = other, AllowUnendorsedKey = true, CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None))
        {
            await Stores.FillAsync(store, 1);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Contains(report.Warnings, w => w.Contains("without endorsement", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PreviousKeyGiven_RotationAtOpenIsEndorsed()
    {
        var path = _dir.File("endorsed.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 2);
        }

        var next = CreateKey(_dir.File("next.pem"));
        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = next, PreviousSigningKeyFile = path + ".key.pem", CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None))
        {
            await Stores.FillAsync(store, 1);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Empty(report.Warnings);
        Assert.Equal(2, report.KeyIds.Count);
    }

    private static string CreateKey(string path)
    {
        Storage.Chain.SigningKey.CreateFile(path).Dispose();
        return path;
    }
}
