using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

/// <summary>Each kind of tampering, done with a separate SQLite connection, is caught and the first bad record named.</summary>
public sealed class TamperTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public TamperTests() => _path = _dir.File("evidence.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EditedPayload_NamesRecordAndTime()
    {
        await FillAsync(20);
        Stores.Tamper(_path, "UPDATE records SET payload = $p WHERE idx = 7", ("$p", Stores.Json("""{"n":6,"path":"/elsewhere"}""")));

        var problem = Broken();
        Assert.Equal(7, problem.Index);
        Assert.Equal(TimeOf(7), problem.Time);
        Assert.Contains("payload", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EditedPayloadWithDigest_NamesRecord()
    {
        await FillAsync(20);
        var payload = Stores.Json("""{"n":6,"path":"/elsewhere"}""");
        var digest = new byte[32];
        RecordHasher.PayloadDigest(payload, digest);
        Stores.Tamper(_path, "UPDATE records SET payload = $p, payload_sha256 = $d WHERE idx = 7", ("$p", payload), ("$d", digest));

        var problem = Broken();
        Assert.Equal(7, problem.Index);
        Assert.Contains("altered", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RewrittenRecordWithHash_NamesRewrittenRecordNotSuccessor()
    {
        await FillAsync(20);
        var row = Row(7);
        var payload = Stores.Json("""{"n":6,"path":"/elsewhere"}""");
        var digest = new byte[32];
        var content = new byte[32];
        var hash = new byte[32];
        RecordHasher.PayloadDigest(payload, digest);
        RecordHasher.ContentDigest(7, row.Time.UtcTicks, row.Type, row.Clients, digest, content);
        RecordHasher.Link(content, row.PreviousHash.Span, hash);
        Stores.Tamper(_path, "UPDATE records SET payload = $p, payload_sha256 = $d, hash = $h WHERE idx = 7", ("$p", payload), ("$d", digest), ("$h", hash));

        var problem = Broken();
        Assert.Equal(7, problem.Index);
        Assert.Equal(TimeOf(7), problem.Time);
        Assert.Contains("rewritten", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedRecord_NamesMissingIndex()
    {
        await FillAsync(20);
        Stores.Tamper(_path, "DELETE FROM records WHERE idx = 9");

        var problem = Broken();
        Assert.Equal(9, problem.Index);
        Assert.Contains("missing", problem.Reason, StringComparison.Ordinal);
        Assert.Equal(TimeOf(8), problem.Time);
    }

    [Fact]
    public async Task DeletedRecordRenumbered_NamesPosition()
    {
        await FillAsync(20);
        Stores.Tamper(_path, "DELETE FROM records WHERE idx = 9; UPDATE records SET idx = -idx WHERE idx > 9; UPDATE records SET idx = -idx - 1 WHERE idx < 0;");

        var problem = Broken();
        Assert.Equal(9, problem.Index);
        Assert.Contains("deleted", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertedRecord_NamesInsertedIndex()
    {
        await FillAsync(20);
        // Open a gap at 5 by renumbering, then insert a well-formed record chained to record 4.
        var before = Row(4);
        Stores.Tamper(_path, "UPDATE records SET idx = -idx WHERE idx >= 5; UPDATE records SET idx = -idx + 1 WHERE idx < 0;");
        var payload = Stores.Json("""{"n":99,"path":"/forged"}""");
        var digest = new byte[32];
        var content = new byte[32];
        var hash = new byte[32];
        var ticks = before.Time.UtcTicks;
        RecordHasher.PayloadDigest(payload, digest);
        RecordHasher.ContentDigest(5, ticks, RecordTypes.Access, "alpha", digest, content);
        RecordHasher.Link(content, before.Hash.Span, hash);
        Stores.Tamper(_path, $"INSERT INTO records({Schema.Columns}) VALUES (5, $t, 'access', 'alpha', $p, $d, $prev, $h)",
            ("$t", ticks), ("$p", payload), ("$d", digest), ("$prev", before.Hash.ToArray()), ("$h", hash));

        var problem = Broken();
        Assert.Equal(5, problem.Index);
        Assert.Contains("inserted", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendedBeyondHead_NamesIt()
    {
        await FillAsync(5);
        var last = Row(6);
        var payload = Stores.Json("""{"forged":true}""");
        var digest = new byte[32];
        var content = new byte[32];
        var hash = new byte[32];
        RecordHasher.PayloadDigest(payload, digest);
        RecordHasher.ContentDigest(7, last.Time.UtcTicks, RecordTypes.Access, "alpha", digest, content);
        RecordHasher.Link(content, last.Hash.Span, hash);
        Stores.Tamper(_path, $"INSERT INTO records({Schema.Columns}) VALUES (7, $t, 'access', 'alpha', $p, $d, $prev, $h)",
            ("$t", last.Time.UtcTicks), ("$p", payload), ("$d", digest), ("$prev", last.Hash.ToArray()), ("$h", hash));

        var problem = Broken();
        Assert.Equal(7, problem.Index);
        Assert.Contains("beyond the signed head", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwappedRecords_NamesFirstOfPair()
    {
        await FillAsync(20);
        Stores.Tamper(_path, """
            UPDATE records SET idx = -1 WHERE idx = 11;
            UPDATE records SET idx = 11 WHERE idx = 12;
            UPDATE records SET idx = 12 WHERE idx = -1;
            """);

        var problem = Broken();
        Assert.Equal(11, problem.Index);
    }

    [Fact]
    public async Task SwappedPayloads_NamesFirstOfPair()
    {
        await FillAsync(20);
        Stores.Tamper(_path, """
            CREATE TEMP TABLE t AS SELECT idx, payload, payload_sha256 FROM records WHERE idx IN (11, 13);
            UPDATE records SET payload = (SELECT payload FROM t WHERE idx = 13), payload_sha256 = (SELECT payload_sha256 FROM t WHERE idx = 13) WHERE idx = 11;
            UPDATE records SET payload = (SELECT payload FROM t WHERE idx = 11), payload_sha256 = (SELECT payload_sha256 FROM t WHERE idx = 11) WHERE idx = 13;
            """);

        var problem = Broken();
        Assert.Equal(11, problem.Index);
        Assert.Equal(TimeOf(11), problem.Time);
    }

    [Fact]
    public async Task TruncatedTail_NamesFirstMissing()
    {
        await FillAsync(20);
        Stores.Tamper(_path, "DELETE FROM records WHERE idx > 15");

        var problem = Broken();
        Assert.Equal(16, problem.Index);
        Assert.Contains("truncated", problem.Reason, StringComparison.Ordinal);
        Assert.Equal(TimeOf(15), problem.Time);
    }

    [Fact]
    public async Task TruncatedWithHeadMovedBack_SignatureFails()
    {
        await FillAsync(20);
        var last = Row(15);
        Stores.Tamper(_path, "DELETE FROM records WHERE idx > 15; UPDATE head SET idx = 15, hash = $h", ("$h", last.Hash.ToArray()));

        var problem = Broken();
        Assert.Equal(15, problem.Index);
        Assert.Contains("signature", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncatedWithHeadDeleted_Fails()
    {
        await FillAsync(20);
        Stores.Tamper(_path, "DELETE FROM records WHERE idx > 15; DELETE FROM head;");

        var problem = Broken();
        Assert.Contains("head is missing", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncatedToCheckpoint_ItsSignatureMovedToHead_Fails()
    {
        // Two sessions: the first closes with a checkpoint (record 11) over records 0..10.
        var time = new FakeTimeProvider(Stores.Start);
        await using (var store = await Stores.OpenAsync(_path, time))
        {
            await Stores.FillAsync(store, 10, time);
        }

        await using (var store = await Stores.OpenAsync(_path, time))
        {
            await Stores.FillAsync(store, 10, time);
        }

        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);
        var checkpoint = Row(11);
        Assert.Equal(RecordTypes.Checkpoint, checkpoint.Type);
        using var body = System.Text.Json.JsonDocument.Parse(checkpoint.Payload!.Value);
        var keyId = body.RootElement.GetProperty("key_id").GetString()!;
        var signature = Convert.FromBase64String(body.RootElement.GetProperty("signature").GetString()!);

        // No key needed: the checkpoint's signature over "the chain through 10" is put in the head row.
        Stores.Tamper(
            _path,
            "DELETE FROM records WHERE idx >= 11; UPDATE head SET idx = 10, hash = $h, key_id = $k, signature = $s",
            ("$h", Row(10).Hash.ToArray()),
            ("$k", keyId),
            ("$s", signature));

        var problem = Broken();
        Assert.Equal(10, problem.Index);
        Assert.Contains("truncation cannot be ruled out", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgedCheckpoint_Fails()
    {
        await FillAsync(5);
        // The closing checkpoint is the last record; make its signature someone else's.
        var row = Row(6);
        Assert.Equal(RecordTypes.Checkpoint, row.Type);
        Stores.Tamper(_path, "UPDATE records SET payload = replace(CAST(payload AS TEXT), '\"signature\":\"', '\"signature\":\"AAAA') WHERE idx = 6");

        var problem = Broken();
        Assert.Equal(6, problem.Index);
    }

    [Fact]
    public async Task TamperedStore_RefusesToOpenForWriting()
    {
        await FillAsync(5);
        Stores.Tamper(_path, "DELETE FROM records WHERE idx = 6");

        await Assert.ThrowsAsync<StoreUnavailableException>(() => Stores.OpenAsync(_path));
    }

    [Theory]
    [InlineData("access")]
    [InlineData("purge")]
    public async Task RecordsTableReplacedByEndlessView_TamperedNotRead(string type)
    {
        await FillAsync(5);
        Stores.Tamper(_path, $"""
            ALTER TABLE records RENAME TO kept;
            CREATE VIEW records AS WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n)
            SELECT x AS idx, 0 AS time, '{type}' AS type, 'alpha' AS clients, X'7B7D' AS payload, zeroblob(32) AS payload_sha256,
                zeroblob(32) AS prev_hash, zeroblob(32) AS hash, NULL AS entries, NULL AS encoding FROM n;
            """);

        // Read through, the view never ends: verification, an export and a writer's open would never return.
        var problem = Broken();
        Assert.Equal(0, problem.Index);
        Assert.Contains("records is a view", problem.Reason, StringComparison.Ordinal);
        var export = Assert.Throws<InvalidOperationException>(() => Storage.Export.EvidenceExport.Write(_path, new RecordQuery { Client = "alpha" }, Stream.Null, Stores.Start, CancellationToken.None));
        Assert.Contains("records is a view", export.Message, StringComparison.Ordinal);
        var open = await Assert.ThrowsAsync<StoreUnavailableException>(() => Stores.OpenAsync(_path));
        Assert.Contains("records is a view", open.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TriggerAddedToStore_WriterRefuses_VerifyNamesIt()
    {
        await FillAsync(5);
        // A trigger fires on the writer's own inserts: here it would silently drop one client's records.
        Stores.Tamper(_path, "CREATE TRIGGER drop_alpha BEFORE INSERT ON records WHEN NEW.clients = 'alpha' BEGIN SELECT RAISE(IGNORE); END;");

        var open = await Assert.ThrowsAsync<StoreUnavailableException>(() => Stores.OpenAsync(_path));
        Assert.Contains("trigger drop_alpha", open.Message, StringComparison.Ordinal);
        Assert.Contains("trigger drop_alpha", Broken().Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAStore_Unreadable()
    {
        var path = _dir.File("junk.db");
        File.WriteAllText(path, "this is not sqlite at all, just text padded out to look like a file");
        Assert.Throws<InvalidOperationException>(() => StoreVerifier.Verify(path, CancellationToken.None));
        Assert.Throws<FileNotFoundException>(() => StoreVerifier.Verify(_dir.File("absent.db"), CancellationToken.None));
    }

    private async Task FillAsync(int count)
    {
        var time = new FakeTimeProvider(Stores.Start);
        await using var store = await Stores.OpenAsync(_path, time);
        await Stores.FillAsync(store, count, time);
        Assert.True(StoreVerifier.Verify(_path, CancellationToken.None).IsIntact);
    }

    private VerificationProblem Broken()
    {
        var report = StoreVerifier.Verify(_path, CancellationToken.None);
        Assert.False(report.IsIntact);
        return report.Problem!;
    }

    private StoredRecord Row(long index)
    {
        using var reader = StoreReader.Open(_path);
        return reader.ReadRecords(index).First();
    }

    private DateTimeOffset TimeOf(long index) => Row(index).Time;
}
