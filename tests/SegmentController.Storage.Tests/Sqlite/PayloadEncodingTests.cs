using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>
/// Rows joining handed-over records are kept deflated (the <c>encoding</c> column): reads, exports and
/// verification see the payload as written, and a stored form edited behind the writer's back is named at its row.
/// </summary>
public sealed class PayloadEncodingTests : IDisposable
{
    private static readonly TimeSpan LongWindow = TimeSpan.FromHours(1);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task HandedOverRow_KeptDeflated_ReadExportedAndVerifiedAsWritten()
    {
        var path = _dir.File("deflated.db");
        var (alpha, beta) = await FillAsync(path);

        // alpha's 40 records are one row, kept deflated and a fraction of its size; beta's two (under 1 KiB) and
        // the awaited append are kept as written.
        Assert.Equal("deflate", Stores.Query<string>(path, "SELECT encoding FROM records WHERE entries = 40"));
        var stored = Stores.Query<long>(path, "SELECT length(payload) FROM records WHERE entries = 40");
        Assert.True(stored * 4 < Encoding.UTF8.GetByteCount(alpha), $"{stored} bytes stored for {Encoding.UTF8.GetByteCount(alpha)}");
        Assert.Equal(0, Stores.Query<long>(path, "SELECT count(*) FROM records WHERE encoding IS NOT NULL AND (entries IS NOT 40)"));

        var rows = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access });
        Assert.Equal(["""{"n":"first"}""", alpha, beta, """{"n":"last"}"""], rows.Select(r => Encoding.UTF8.GetString(r.Payload!.Value.Span)));
        foreach (var direct in new[] { true, false })
        {
            var report = StoreVerifier.Verify(path, direct, CancellationToken.None);
            Assert.True(report.IsIntact, report.Problem?.Reason);
        }

        // The export carries the records as written, and verifies on its own.
        var export = _dir.File("deflated.jsonl");
        using (var stream = File.Create(export))
        {
            EvidenceExport.Write(path, new RecordQuery { Client = "alpha" }, stream, Stores.Start, CancellationToken.None);
        }

        var line = File.ReadLines(export).Single(l => l.Contains("alpha-39", StringComparison.Ordinal));
        var payload = JsonDocument.Parse(line).RootElement.GetProperty("payload");
        Assert.Equal(40, payload.GetArrayLength());
        Assert.Equal("/crm/customers/alpha-39", payload[39].GetProperty("path").GetString());
        var exported = ExportVerifier.Verify(export, CancellationToken.None);
        Assert.True(exported.IsIntact, exported.Problem?.Reason);
    }

    public static TheoryData<string, string> StoredFormEdits => new()
    {
        // A stored form that is not DEFLATE data (its first block's type is the reserved one).
        { "UPDATE records SET payload = X'FFFFFFFF' WHERE encoding = 'deflate'", "stored payload cannot be read: deflated payload does not inflate" },
        // An encoding this version does not know.
        { "UPDATE records SET encoding = 'zstd' WHERE encoding = 'deflate'", "stored payload cannot be read: payload kept in an encoding this version does not know ('zstd')" },
        // An encoding column of 100,000 characters: named without being held whole.
        { "UPDATE records SET encoding = replace(hex(zeroblob(50000)), '0', 'z') WHERE encoding = 'deflate'", "stored payload cannot be read: payload kept in an encoding this version does not know ('an unprintable value')" },
        // The deflated bytes read as if written so.
        { "UPDATE records SET encoding = NULL WHERE encoding = 'deflate'", "payload does not match its digest (edited)" },
        // Other records, deflated in their place.
        { "UPDATE records SET payload = $other WHERE encoding = 'deflate'", "payload does not match its digest (edited)" },
        // A few kilobytes that would inflate to 17 MiB.
        { "UPDATE records SET payload = $bomb WHERE encoding = 'deflate'", "stored payload cannot be read: deflated payload inflates past 16777216 bytes" },
    };

    [Theory]
    [MemberData(nameof(StoredFormEdits))]
    public async Task StoredFormEdited_VerificationNamesTheRow_ReadersRefuseIt(string tamper, string reason)
    {
        var path = _dir.File("edited.db");
        await FillAsync(path);
        var row = Stores.Query<long>(path, "SELECT idx FROM records WHERE encoding = 'deflate'");
        Stores.Tamper(path, tamper, ("$other", Deflate(Encoding.UTF8.GetBytes("""[{"path":"/somewhere/else"}]"""))), ("$bomb", Deflate(new byte[17 << 20])));

        foreach (var direct in new[] { true, false })
        {
            var report = StoreVerifier.Verify(path, direct, CancellationToken.None);
            Assert.False(report.IsIntact);
            Assert.Contains(reason, report.Problem!.Reason, StringComparison.Ordinal);
            Assert.Equal(row, report.Problem.Index);
        }

        // A reader that cannot give the record as written says which, rather than return its stored bytes.
        if (reason.StartsWith("stored payload cannot be read", StringComparison.Ordinal))
        {
            var error = Assert.Throws<InvalidOperationException>(() => StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access }));
            Assert.Contains($"record {row}'s stored payload cannot be read", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Purge_EmptiesDeflatedRowsAndTheirEncoding_StillVerifies()
    {
        var path = _dir.File("purged.db");
        var time = new FakeTimeProvider(Stores.Start);
        await FillAsync(path, time);
        time.SetUtcNow(new DateTimeOffset(2033, 7, 1, 0, 0, 1, TimeSpan.Zero));
        ClientDefinition[] clients =
        [
            new() { Id = "alpha", Name = "alpha", ContractEnd = new DateOnly(2026, 6, 30), Segments = [] },
            new() { Id = "beta", Name = "beta", ContractEnd = new DateOnly(2040, 12, 31), Segments = [] },
        ];
        await using (var store = await OpenAsync(path, time))
        {
            var result = await Retention.PurgeExpiredAsync(store, clients, time, CancellationToken.None);
            Assert.Equal(["alpha"], result.Clients);
        }

        Assert.Equal(0, Stores.Query<long>(path, "SELECT count(*) FROM records WHERE encoding IS NOT NULL"));
        Assert.Equal(1, Stores.Query<long>(path, "SELECT count(*) FROM records WHERE payload IS NULL AND entries = 40"));
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task StoreOfSchema3_ReadAsItIs_TheWriterAddsEncodingAndDeflatesFromThen()
    {
        var path = _dir.File("schema3.db");
        var (alpha, _) = await FillAsync(path);

        // As a store schema 3 made: no encoding column, every payload as written, the first format.
        Stores.Tamper(path, "UPDATE records SET payload = $alpha, encoding = NULL WHERE encoding = 'deflate'", ("$alpha", Encoding.UTF8.GetBytes(alpha)));
        Stores.Tamper(path, "ALTER TABLE records DROP COLUMN encoding");
        Stores.Tamper(path, "UPDATE meta SET value = '3' WHERE key = 'schema'");
        Stores.Tamper(path, "UPDATE meta SET value = 'segctl-evidence-v1' WHERE key = 'format'");
        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
        Assert.Equal(alpha, Encoding.UTF8.GetString(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access })[1].Payload!.Value.Span));

        var observer = new CountingObserver();
        await using (var store = await OpenAsync(path))
        {
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("{}"), CancellationToken.None);
            for (var i = 0; i < 40; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Record("alpha", 100 + i), observer));
            }

            await store.AppendAsync(RecordTypes.Suspension, "alpha", Stores.Json("{}"), CancellationToken.None);
            await observer.WaitForAsync(40);
        }

        Assert.Equal("4", Stores.Query<string>(path, "SELECT value FROM meta WHERE key = 'schema'"));
        Assert.Equal("segctl-evidence-v2", Stores.Query<string>(path, "SELECT value FROM meta WHERE key = 'format'"));
        Assert.Equal(1, Stores.Query<long>(path, "SELECT count(*) FROM records WHERE encoding = 'deflate'"));
        var rows = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access });
        Assert.Equal(alpha, Encoding.UTF8.GetString(rows[1].Payload!.Value.Span));
        Assert.Equal(140, JsonDocument.Parse(rows[^1].Payload!.Value).RootElement[40 - 1].GetProperty("n").GetInt32() + 1);
        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public void Deflater_KeepsWhatDoesNotShrinkAsWritten()
    {
        var deflater = new PayloadDeflater();
        var noise = new byte[4096];
        new Random(7).NextBytes(noise);
        Assert.True(deflater.Store(noise, deflatable: true, out var encoding).SequenceEqual(noise));
        Assert.Null(encoding);

        var repeated = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("""{"method":"GET","status":200},""", 100)));
        var stored = deflater.Store(repeated, deflatable: true, out encoding).ToArray();
        Assert.Equal(PayloadEncoding.Deflate, encoding);
        Assert.Equal(repeated, PayloadEncoding.Decode(0, stored, encoding));
        Assert.True(deflater.Store(repeated, deflatable: false, out encoding).SequenceEqual(repeated));
        Assert.Null(encoding);
    }

    // An awaited append (after it the window holds what is handed over); alpha: 40 handed-over records of about
    // 280 bytes (one row of about 11 KB); beta: two (one row under 1 KiB); then an awaited append ends the window.
    // Returns the two rows' payloads as written.
    private static async Task<(string Alpha, string Beta)> FillAsync(string path, FakeTimeProvider? time = null)
    {
        var observer = new CountingObserver();
        await using (var store = await OpenAsync(path, time))
        {
            await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json("""{"n":"first"}"""), CancellationToken.None);
            for (var i = 0; i < 40; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "alpha", Record("alpha", i), observer));
            }

            for (var i = 0; i < 2; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, "beta", Record("beta", i), observer));
            }

            await store.AppendAsync(RecordTypes.Access, "beta", Stores.Json("""{"n":"last"}"""), CancellationToken.None);
            await observer.WaitForAsync(42);
        }

        return (Joined("alpha", 0, 40), Joined("beta", 0, 2));
    }

    private static string Joined(string client, int first, int count) =>
        "[" + string.Join(",", Enumerable.Range(first, count).Select(i => Encoding.UTF8.GetString(Record(client, i)))) + "]";

    private static byte[] Record(string client, int n) => Stores.Json(
        $$"""{"time":"2026-03-01T08:00:{{n % 60:D2}}.{{n:D7}}+00:00","client":"{{client}}","source":"10.20.0.{{n % 50}}","method":"GET","host":"crm.{{client}}.example","path":"/crm/customers/{{client}}-{{n}}","status":200,"bytes_in":0,"bytes_out":{{1000 + (n * 37)}},"duration_seconds":0.000{{512 + n}},"upstream":"crm","outcome":"forwarded","n":{{n}}}""");

    private static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
        }

        return output.ToArray();
    }

    private static Task<SqliteEvidenceStore> OpenAsync(string path, FakeTimeProvider? time = null) =>
        SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero, BatchWindow = LongWindow, WindowRecords = 256 },
            time ?? new FakeTimeProvider(Stores.Start),
            CancellationToken.None);
}
