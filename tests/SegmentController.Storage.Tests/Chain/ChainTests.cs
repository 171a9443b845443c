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
    public async Task ForeignKey_RefusedUnlessAllowed_ThenBreaksTheChainUnlessTheOperatorAcceptsIt()
    {
        var path = _dir.File("foreign.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 2);
        }

        var other = _dir.File("other.pem");
        await Assert.ThrowsAsync<StoreUnavailableException>(() => SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = CreateKey(other), CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None));

        string otherId;
        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = other, AllowUnendorsedKey = true, CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None))
        {
            await Stores.FillAsync(store, 1);
        }

        using (var key = Storage.Chain.SigningKey.Load(other))
        {
            otherId = key.Id;
        }

        var rotation = RotationIndex(path);
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Equal(rotation, report.Problem!.Index);
        Assert.Contains($"--accept-key {otherId}", report.Problem.Reason, StringComparison.Ordinal);

        var accepted = StoreVerifier.Verify(path, [otherId], CancellationToken.None);
        Assert.True(accepted.IsIntact, accepted.Problem?.Reason);
        Assert.Contains(accepted.Warnings, w => w.Contains("without endorsement", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TailCutOff_RestSignedAnewWithAKeyOfItsOwn_NotIntact()
    {
        // No key of the site's needed: records dropped from the end, the head pointed at the last one kept (opening does not
        // judge its signature), and the store opened with a key of the forger's, unendorsed, which signs everything after.
        var path = _dir.File("resigned.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 6);
        }

        using (var reader = StoreReader.Open(path))
        {
            var kept = reader.ReadRecords(0).First(r => r.Index == 3);
            Stores.Tamper(path, "DELETE FROM records WHERE idx > $i; UPDATE head SET idx = $i, hash = $h", ("$i", kept.Index), ("$h", kept.Hash.ToArray()));
        }

        var forger = CreateKey(_dir.File("forger.pem"));
        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = forger, AllowUnendorsedKey = true, CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None))
        {
            await Stores.FillAsync(store, 4);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Equal(4, report.Problem!.Index);
        Assert.Contains("without endorsement", report.Problem.Reason, StringComparison.Ordinal);
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

    [Fact]
    public async Task RotatedAway_OldKeySignsTruncatedHead_Fails()
    {
        var path = _dir.File("old-key.db");
        var oldKey = path + ".key.pem";
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 2);
        }

        var next = CreateKey(_dir.File("next-key.pem"));
        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, SigningKeyFile = next, PreviousSigningKeyFile = oldKey, CheckpointInterval = TimeSpan.Zero }, TimeProvider.System, CancellationToken.None))
        {
            await Stores.FillAsync(store, 5);
        }

        // Whoever still holds the key the site rotated away from drops the last records and signs the head.
        using (var reader = StoreReader.Open(path))
        {
            var rotation = reader.ReadRecords(0).First(r => r.Index > 0 && r.Type == RecordTypes.KeyRotation).Index;
            var kept = reader.ReadRecords(rotation + 2).First();
            using var key = Storage.Chain.SigningKey.Load(oldKey);
            Stores.Tamper(
                path,
                "DELETE FROM records WHERE idx > $i; UPDATE head SET idx = $i, hash = $h, key_id = $k, signature = $s",
                ("$i", kept.Index),
                ("$h", kept.Hash.ToArray()),
                ("$k", key.Id),
                ("$s", key.Sign(Storage.Chain.RecordHasher.TipStatement(kept.Index, kept.Hash.Span))));
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Contains("head", report.Problem!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeadSignedAsEarlierVersionsDid_AtClosingCheckpoint_VerifiesWithWarning()
    {
        var path = _dir.File("earlier.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 3);
        }

        // Earlier versions signed the head with a checkpoint's statement and closed the store with a checkpoint.
        using (var reader = StoreReader.Open(path))
        using (var key = Storage.Chain.SigningKey.Load(path + ".key.pem"))
        {
            var last = reader.ReadRecords(0).Last();
            Assert.Equal(RecordTypes.Checkpoint, last.Type);
            Stores.Tamper(path, "UPDATE head SET signature = $s", ("$s", key.Sign(Storage.Chain.RecordHasher.HeadStatement(last.Index, last.Hash.Span))));
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Contains(report.Warnings, w => w.Contains("form of earlier versions", StringComparison.Ordinal));
    }

    private static long RotationIndex(string path)
    {
        using var reader = StoreReader.Open(path);
        return reader.ReadRecords(0).First(r => r.Index > 0 && r.Type == RecordTypes.KeyRotation).Index;
    }

    private static string CreateKey(string path)
    {
        Storage.Chain.SigningKey.CreateFile(path).Dispose();
        return path;
    }
}
