using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Evidence;
using SegmentController.Proxy.Access;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Proxy.Tests.Access;

/// <summary>
/// The window of access records handed to the real SQLite store and not yet durable: full, it holds
/// forwarding and further records until a batch commits; a failed batch stops forwarding.
/// </summary>
public sealed class AccessRecordsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-access-records-").FullName;
    private SqliteEvidenceStore _store = null!;

    private string StorePath => Path.Combine(_dir, "evidence.db");

    public async Task InitializeAsync()
    {
        // A window no test outlasts and no count of records ends: handed-over records commit only when an
        // awaited append ends it (the default WindowRecords, 384 of the proxy's 512, would commit the
        // first 384 of a full window on its own, whenever the writer gets to it).
        _store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = StorePath, SigningKeyFile = Path.Combine(_dir, "evidence.key.pem"), CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.FromHours(1), WindowRecords = int.MaxValue },
            TimeProvider.System,
            CancellationToken.None);

        // The writer has just committed: what is handed over next waits for the window.
        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-1), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task WindowFull_ForwardingAndTheNextRecordWait_UntilABatchCommits()
    {
        using var records = new AccessRecords(_store, NullLogger<AccessRecords>.Instance);
        for (var i = 0; i < AccessRecords.Capacity; i++)
        {
            Assert.True(records.WriteAsync("acme", Payload(i)).AsTask().IsCompletedSuccessfully);
        }

        Assert.Equal(AccessRecords.Capacity, records.Outstanding);
        var ready = records.ReadyToForwardAsync(CancellationToken.None).AsTask();
        var next = records.WriteAsync("acme", Payload(AccessRecords.Capacity)).AsTask();
        Assert.False(ready.IsCompleted);
        Assert.False(next.IsCompleted);
        Assert.True(records.Forwarding);

        // An awaited append ends the window: the whole window commits with it, and room opens.
        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-2), CancellationToken.None);
        Assert.True(await ready.WaitAsync(TimeSpan.FromMinutes(2)));
        await next.WaitAsync(TimeSpan.FromMinutes(2));

        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-3), CancellationToken.None);
        await UntilAsync(() => records.Outstanding == 0);
        var report = StoreVerifier.Verify(StorePath, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        // Every request's record is there, the handed-over ones joined a batch's worth per stored record.
        var stored = StoreFile.Read(StorePath, new RecordQuery { Type = RecordTypes.Access });
        Assert.Equal(AccessRecords.Capacity + 4, stored.SelectMany(ProxyHarness.Entries).Count());
        Assert.InRange(stored.Count, 4, AccessRecords.Capacity);
        Assert.Equal(AccessRecords.Capacity + 4, StoreFile.CountConcerning(StorePath, RecordTypes.Access, ["acme"], DateTimeOffset.MinValue, DateTimeOffset.MaxValue));
    }

    [Fact]
    public async Task OneBufferForEveryRecord_EachStoredAsItWasWhenHandedOver()
    {
        // The proxy serializes each record into its thread's buffer and reuses it once WriteAsync returns:
        // with room (handed straight to the store) and with the window full (the record waits for room).
        using var records = new AccessRecords(_store, NullLogger<AccessRecords>.Instance);
        var buffer = new byte[SameLengthPayload(0).Length];
        for (var i = 0; i < AccessRecords.Capacity; i++)
        {
            SameLengthPayload(i).CopyTo(buffer, 0);
            Assert.True(records.WriteAsync("acme", buffer).AsTask().IsCompletedSuccessfully);
        }

        SameLengthPayload(AccessRecords.Capacity).CopyTo(buffer, 0);
        var waiting = records.WriteAsync("acme", buffer).AsTask();
        Assert.False(waiting.IsCompleted);
        Array.Fill(buffer, (byte)'x');

        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-2), CancellationToken.None);
        await waiting.WaitAsync(TimeSpan.FromMinutes(2));
        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-3), CancellationToken.None);
        await UntilAsync(() => records.Outstanding == 0);

        var entries = StoreFile.Read(StorePath, new RecordQuery { Type = RecordTypes.Access })
            .SelectMany(ProxyHarness.Entries)
            .Select(e => e.GetProperty("n").GetInt32())
            .Where(n => n >= 100_000)
            .Select(n => n - 100_000)
            .ToList();
        Assert.Equal(Enumerable.Range(0, AccessRecords.Capacity + 1), entries);
    }

    [Fact]
    public async Task BatchFails_ForwardingStops_RecordsKeptWithTheirSlots_CommittedFirstAndForwardingResumesWhenTheStoreWrites()
    {
        using var records = new AccessRecords(_store, NullLogger<AccessRecords>.Instance);
        var stopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        records.Stopped += reason => stopped.TrySetResult(reason);
        Tamper("CREATE TRIGGER refuse_records BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'records refused'); END;");
        for (var i = 0; i < 3; i++)
        {
            await records.WriteAsync("acme", Payload(i));
        }

        await Assert.ThrowsAsync<StoreUnavailableException>(async () => await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-2), CancellationToken.None));
        Assert.Contains("records refused", await stopped.Task.WaitAsync(TimeSpan.FromMinutes(2)), StringComparison.Ordinal);
        Assert.False(records.Forwarding);
        Assert.False(await records.ReadyToForwardAsync(CancellationToken.None));

        // The store keeps the three records for its next attempt: not durable yet, their slots stay held.
        Assert.Equal(3, records.Outstanding);

        Tamper("DROP TRIGGER refuse_records;");
        await records.WriteAsync("acme", Payload(3));
        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-3), CancellationToken.None);
        await UntilAsync(() => records.Outstanding == 0);
        Assert.True(records.Forwarding);
        Assert.True(await records.ReadyToForwardAsync(CancellationToken.None));
        var written = StoreFile.Read(StorePath, new RecordQuery { Type = RecordTypes.Access }).SelectMany(ProxyHarness.Entries).Select(e => e.GetProperty("n").GetInt32()).ToArray();
        Assert.Equal([0, 1, 2], written.Where(n => n is >= 0 and <= 2).ToArray());
        Assert.Contains(3, written);
    }

    [Fact]
    public async Task StoreCannotWrite_WindowFullOfKeptRecords_ARequestEndingNowIsNotHeldUp_ItsRecordDroppedAndCounted()
    {
        using var records = new AccessRecords(_store, NullLogger<AccessRecords>.Instance);
        Tamper("CREATE TRIGGER refuse_records BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'records refused'); END;");
        for (var i = 0; i < AccessRecords.Capacity; i++)
        {
            await records.WriteAsync("acme", Payload(i));
        }

        await Assert.ThrowsAsync<StoreUnavailableException>(async () => await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-2), CancellationToken.None));
        await UntilAsync(() => !records.Forwarding);
        Assert.Equal(AccessRecords.Capacity, records.Outstanding);

        // The window is full of records the store keeps: the next request's record does not wait for the disk.
        var late = records.WriteAsync("acme", Payload(AccessRecords.Capacity));
        Assert.True(late.IsCompleted);
        Assert.Equal(1, records.DroppedRecords);

        Tamper("DROP TRIGGER refuse_records;");
        await _store.AppendAsync(RecordTypes.Access, "acme", Payload(-3), CancellationToken.None);
        await UntilAsync(() => records.Outstanding == 0);
        Assert.True(records.Forwarding);
        var written = StoreFile.Read(StorePath, new RecordQuery { Type = RecordTypes.Access }).SelectMany(ProxyHarness.Entries).Select(e => e.GetProperty("n").GetInt32()).ToHashSet();
        Assert.True(Enumerable.Range(0, AccessRecords.Capacity).All(written.Contains));
    }

    private static byte[] Payload(int n) => Encoding.UTF8.GetBytes($$"""{"n":{{n}}}""");

    // Of one length for every n from 0 to 899,999, so one buffer holds each in turn.
    private static byte[] SameLengthPayload(int n) => Encoding.UTF8.GetBytes($$"""{"n":{{100_000 + n}}}""");

    // Polls a condition the store's writer makes true; the guard is against a hang, not a measure.
    private static async Task UntilAsync(Func<bool> condition)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!condition())
        {
            await Task.Delay(5, guard.Token);
        }
    }

    private void Tamper(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
