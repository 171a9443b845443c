using System.Globalization;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>
/// Records handed over without a completion each (the proxy's access records): the observer hears per
/// batch how many committed or failed; the batch window holds them, and never an awaited append.
/// </summary>
public sealed class HandOverTests : IDisposable
{
    // Long enough that nothing a test waits for can come from the window running out.
    private static readonly TimeSpan LongWindow = TimeSpan.FromHours(1);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task HandedOverRecords_CommittedWithTheNextAwaitedAppend_EachObserverHearsItsCountOncePerBatch()
    {
        var path = _dir.File("handover.db");
        var alpha = new CountingObserver();
        var beta = new CountingObserver();
        await using (var store = await OpenAsync(path))
        {
            Assert.Equal(1, await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"first"}"""), CancellationToken.None));
            for (var i = 0; i < 3; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":"alpha-{{i}}"}"""), alpha));
            }

            for (var i = 0; i < 2; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, null, Stores.Json($$"""{"n":"beta-{{i}}"}"""), beta));
            }

            // The five wait for the window; the awaited append ends it and follows them in the chain, where
            // each client key's entries are one row.
            Assert.Equal(4, await Guarded(store.AppendAsync(RecordTypes.Access, "beta", Stores.Json("""{"n":"last"}"""), CancellationToken.None)));
            await alpha.WaitForAsync(3);
            await beta.WaitForAsync(2);
        }

        Assert.Equal([3], alpha.CommittedReports);
        Assert.Equal([2], beta.CommittedReports);
        Assert.Empty(alpha.FailedReports);
        Assert.Empty(beta.FailedReports);
        var records = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access });
        string[] payloads =
        [
            """{"n":"first"}""",
            """[{"n":"alpha-0"},{"n":"alpha-1"},{"n":"alpha-2"}]""",
            """[{"n":"beta-0"},{"n":"beta-1"}]""",
            """{"n":"last"}""",
        ];
        Assert.Equal(payloads, records.Select(r => Encoding.UTF8.GetString(r.Payload!.Value.Span)));
        Assert.Equal(["alpha", "alpha", null, "beta"], records.Select(r => r.Clients));
        Assert.Equal("3,2", Stores.Query<string>(path, "SELECT group_concat(entries) FROM (SELECT entries FROM records WHERE entries IS NOT NULL ORDER BY idx)"));
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task BatchCannotCommit_HandedOverRecordsKeptAndRetried_CommittedFirstOnceTheStoreWrites()
    {
        var path = _dir.File("failing.db");
        var observer = new CountingObserver();
        await using (var store = await OpenAsync(path))
        {
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":0}"""), CancellationToken.None);

            // SQLite itself refuses the batch's inserts (as it would a full disk's), behind the writer's back.
            Stores.Tamper(path, "CREATE TRIGGER refuse_records BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'records refused'); END;");
            for (var i = 0; i < 4; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":"before-{{i}}"}"""), observer));
            }

            // An awaited append fails to its caller; the handed-over records are kept, not lost, and the
            // writer tries them again on its own while nothing else comes.
            await Assert.ThrowsAsync<StoreUnavailableException>(async () => await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"awaited"}"""), CancellationToken.None));
            await observer.WaitForAsync(0, retryingReports: 2);
            Assert.All(observer.RetryingReports, r => Assert.Equal(4, r));
            Assert.Empty(observer.FailedReports);
            Assert.Empty(observer.CommittedReports);
            Assert.False(store.Health.IsWritable);

            Stores.Tamper(path, "DROP TRIGGER refuse_records;");
            Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json("""{"n":"again-0"}"""), observer));
            await observer.WaitForAsync(5);
            Assert.Equal(5, observer.CommittedReports.Sum());
            Assert.Empty(observer.FailedReports);
            Assert.True(store.Health.IsWritable);
        }

        // Every handed-over record is on record, in hand-over order, the retained ones first.
        var entries = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access })
            .SelectMany(r => JsonDocument.Parse(r.Payload!.Value).RootElement is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().Select(e => e.GetProperty("n").ToString()).ToArray() : [JsonDocument.Parse(r.Payload!.Value).RootElement.GetProperty("n").ToString()])
            .ToArray();
        Assert.Equal(["0", "before-0", "before-1", "before-2", "before-3", "again-0"], entries);
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task StoreClosesWhileRecordsAreRetained_ObserverHearsThemFailed()
    {
        var path = _dir.File("closing.db");
        var observer = new CountingObserver();
        var store = await OpenAsync(path);
        await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":0}"""), CancellationToken.None);
        Stores.Tamper(path, "CREATE TRIGGER refuse_records BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'records refused'); END;");
        Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json("""{"n":1}"""), observer));
        await Assert.ThrowsAsync<StoreUnavailableException>(async () => await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"awaited"}"""), CancellationToken.None));
        await observer.WaitForAsync(0, retryingReports: 1);

        await store.DisposeAsync();

        Assert.Equal([1], observer.FailedReports);
        Assert.Empty(observer.CommittedReports);
    }

    [Fact]
    public async Task ObserverThrows_WriterStops_OtherObserversHearAndNoCallerWaitsForever()
    {
        var path = _dir.File("observer-throws.db");
        var broken = new ThrowingObserver();
        var alpha = new CountingObserver();
        var store = await OpenAsync(path);
        try
        {
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":0}"""), CancellationToken.None);
            Assert.True(store.TryHandOver(RecordTypes.Access, "beta", Stores.Json("""{"n":"beta"}"""), broken));
            for (var i = 0; i < 3; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":"alpha-{{i}}"}"""), alpha));
            }

            // The checkpoint ends the window and is taken with the batch whose first observer throws when told
            // it committed: the writer stops; the checkpoint fails to its caller instead of waiting for ever.
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.CheckpointAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2)));

            // The records did commit, and the other observer heard so (its slots are free).
            await alpha.WaitForAsync(3);
            Assert.Equal([3], alpha.CommittedReports);
            Assert.Empty(alpha.FailedReports);
            Assert.False(store.Health.IsWritable);
            Assert.Contains("stopped writing", store.Health.LastError, StringComparison.Ordinal);
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"after"}"""), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromMinutes(2)));
            Assert.Throws<StoreUnavailableException>(() => store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json("""{"n":"after"}"""), alpha));
        }
        finally
        {
            await store.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));
        }

        var entries = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access }).Select(r => Encoding.UTF8.GetString(r.Payload!.Value.Span)).ToArray();
        Assert.Equal(["""{"n":0}""", """[{"n":"beta"}]""", """[{"n":"alpha-0"},{"n":"alpha-1"},{"n":"alpha-2"}]"""], entries);
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task AwaitedAppends_OneAfterAnother_EachCommittedWithoutWaitingForTheWindow()
    {
        await using var store = await OpenAsync(_dir.File("awaited.db"));
        for (var i = 1; i <= 5; i++)
        {
            // Every one of these starts well inside the window of the commit before it.
            Assert.Equal(i, await Guarded(store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json($$"""{"n":{{i}}}"""), CancellationToken.None)));
        }
    }

    [Fact]
    public async Task HandedOverRecord_WriterIdle_CommittedWithoutWaitingForTheWindow()
    {
        var observer = new CountingObserver();
        await using var store = await OpenAsync(_dir.File("idle.db"));
        Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json("""{"n":0}"""), observer));
        await observer.WaitForAsync(1);
        Assert.Equal([1], observer.CommittedReports);
    }

    [Fact]
    public async Task HandedOverRecords_WindowRecordsWaiting_CommittedWithoutWaitingForTheWindow()
    {
        // However fast records arrive, a caller that bounds what is not yet durable is never held by the
        // window: once WindowRecords wait, they commit. Repeated so that records land on every side of the
        // writer opening its window.
        var observer = new CountingObserver();
        await using var store = await OpenAsync(_dir.File("full.db"), windowRecords: 8);
        await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":0}"""), CancellationToken.None);
        for (var round = 1; round <= 50; round++)
        {
            for (var i = 0; i < 8; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":{{i}}}"""), observer));
            }

            await observer.WaitForAsync(8 * round);
        }

        Assert.Equal(400, observer.CommittedReports.Sum());
        Assert.All(observer.CommittedReports, count => Assert.InRange(count, 1, 8));
    }

    [Fact]
    public async Task HandedOverRecords_AfterTheirBatchCommitted_TheirEntriesServeAgain_EveryRecordKeptAsHandedOver()
    {
        // Two rounds of a window's worth of access-record-sized entries, the second handed over once the first
        // committed: it takes the first's entries again, so handing one over copies it without allocating, and
        // what the first round wrote stays as it was.
        const int Round = 64;
        var path = _dir.File("reuse.db");
        var observer = new CountingObserver();
        var padding = new string('p', 500);
        var payloads = Enumerable.Range(0, 2 * Round).Select(i => Stores.Json($$"""{"n":{{i}},"pad":"{{padding}}"}""")).ToArray();
        long allocated;
        await using (var store = await OpenAsync(path, windowRecords: Round))
        {
            await store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json("{}"), CancellationToken.None);
            for (var i = 0; i < Round; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", payloads[i], observer));
            }

            await observer.WaitForAsync(Round);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = Round; i < 2 * Round; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", payloads[i], observer));
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await observer.WaitForAsync(2 * Round);
        }

        // A copy of its own would be more than 500 bytes per record.
        Assert.InRange(allocated, 0, Round * 100);
        var rows = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access });
        var entries = rows.SelectMany(r => JsonDocument.Parse(r.Payload!.Value).RootElement.EnumerateArray().Select(e => e.GetRawText())).ToArray();
        Assert.Equal(payloads.Select(p => Encoding.UTF8.GetString(p)), entries);
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task Checkpoint_WhileRecordsWaitForTheWindow_EndsItAndCoversThem()
    {
        var observer = new CountingObserver();
        await using var store = await OpenAsync(_dir.File("control.db"));
        await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":0}"""), CancellationToken.None);
        Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json("""{"n":1}"""), observer));
        Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json("""{"n":2}"""), observer));

        // The checkpoint sees every record queued before it: it comes right after them (one row).
        Assert.Equal(3, await store.CheckpointAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2)));
        await observer.WaitForAsync(2);
        Assert.Equal([2], observer.CommittedReports);
    }

    [Fact]
    public async Task HandedOverEntries_BeyondTheRowLimit_StartAnotherRow_EveryEntryKeptInOrder_CountedOnce()
    {
        var path = _dir.File("limit.db");
        var observer = new CountingObserver();
        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero, BatchWindow = LongWindow, MaxPayloadBytes = 100 },
            new FakeTimeProvider(Stores.Start),
            CancellationToken.None))
        {
            // A commit first: the entries then wait for the window (an idle writer would commit the first at once,
            // alone, if it woke before the second was handed over).
            await store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json("{}"), CancellationToken.None);

            // Each entry is 20 bytes: four fit in a row of at most 100 ("[" + 4 x 20 + 3 commas + "]" = 85), a fifth does not.
            for (var i = 0; i < 10; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":"{{i:D2}}","p":"x,]"}"""), observer));
            }

            await store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json("{}"), CancellationToken.None);
            await observer.WaitForAsync(10);
        }

        var rows = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access });
        Assert.Equal([4, 4, 2], rows.Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement.GetArrayLength()));
        Assert.All(rows, r => Assert.InRange(r.Payload!.Value.Length, 1, 100));
        var entries = rows.SelectMany(r => JsonDocument.Parse(r.Payload!.Value).RootElement.EnumerateArray().Select(e => e.GetProperty("n").GetString())).ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString("D2", CultureInfo.InvariantCulture)), entries);
        Assert.Equal(10, StoreFile.CountConcerning(path, RecordTypes.Access, ["alpha"], DateTimeOffset.MinValue, DateTimeOffset.MaxValue));
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task LargeEntriesOfSeveralClients_EachRowWhole_InHandOverOrder()
    {
        // Six entries of about 900 KB, two clients in turn: each row holds one (a second would pass the
        // 1 MB limit), and the batch (over 5 MB) is joined outside the writer's kept buffer.
        var path = _dir.File("large.db");
        var observer = new CountingObserver();
        var filler = new string('x', 900_000);
        await using (var store = await OpenAsync(path))
        {
            for (var i = 0; i < 6; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, i % 2 == 0 ? "alpha" : "beta", Stores.Json($$"""{"n":{{i}},"p":"{{filler}}"}"""), observer));
            }

            await store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json("{}"), CancellationToken.None);
            await observer.WaitForAsync(6);
        }

        var rows = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access });
        Assert.Equal(["alpha", "beta", "alpha", "beta", "alpha", "beta"], rows.Select(r => r.Clients));
        Assert.Equal(Enumerable.Range(0, 6), rows.Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement.EnumerateArray().Single().GetProperty("n").GetInt32()));
        Assert.All(rows, r => Assert.Equal(filler, JsonDocument.Parse(r.Payload!.Value).RootElement[0].GetProperty("p").GetString()));
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Theory]
    [InlineData("UPDATE records SET entries = 1 WHERE entries = 3", "entries column is 1 but the payload holds 3")]
    [InlineData("UPDATE records SET entries = NULL WHERE entries = 3", "entries column is empty but the payload holds 3")]
    [InlineData("UPDATE records SET entries = 7 WHERE idx = 1", "entries column is 7 but the payload holds no array of entries")]
    public async Task EntriesCountEdited_VerificationNamesTheRow(string tamper, string reason)
    {
        var path = _dir.File("edited.db");
        var observer = new CountingObserver();
        await using (var store = await OpenAsync(path))
        {
            Assert.Equal(1, await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"first"}"""), CancellationToken.None));
            for (var i = 0; i < 3; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":{{i}}}"""), observer));
            }

            await store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json("{}"), CancellationToken.None);
            await observer.WaitForAsync(3);
        }

        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
        Stores.Tamper(path, tamper);
        foreach (var direct in new[] { true, false })
        {
            var report = StoreVerifier.Verify(path, direct, CancellationToken.None);
            Assert.False(report.IsIntact);
            Assert.Contains(reason, report.Problem!.Reason, StringComparison.Ordinal);
            Assert.Equal(tamper.Contains("idx = 1", StringComparison.Ordinal) ? 1 : 2, report.Problem.Index);
        }
    }

    // A guard against a hang (an append held for the whole window), not a measure of speed.
    // An observer with a bug: it throws when told its records committed.
    private sealed class ThrowingObserver : IAppendObserver
    {
        public void Committed(int count) => throw new InvalidOperationException("observer bug");

        public void Retrying(int count, StoreUnavailableException reason)
        {
        }

        public void Failed(int count, StoreUnavailableException reason)
        {
        }
    }

    private static Task<long> Guarded(ValueTask<long> append) => append.AsTask().WaitAsync(TimeSpan.FromMinutes(2));

    private static Task<SqliteEvidenceStore> OpenAsync(string path, int windowRecords = 256) =>
        SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero, BatchWindow = LongWindow, WindowRecords = windowRecords },
            new FakeTimeProvider(Stores.Start),
            CancellationToken.None);
}
