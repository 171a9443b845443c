using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Export;

public sealed class ExportTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _store;
    private readonly FakeTimeProvider _time = new(Stores.Start);

    public ExportTests() => _store = _dir.File("evidence.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task FullExport_VerifiesAlone()
    {
        await FillAsync();
        var file = Export(new RecordQuery());

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(26, report.Count);
        Assert.Equal(25, report.SignedThrough);
    }

    [Fact]
    public async Task ClientExport_DisclosesOnlyThatClient_AndVerifies()
    {
        await FillAsync();
        var file = Export(new RecordQuery { Client = "beta" });

        var lines = File.ReadAllLines(file);
        var records = lines.Where(l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal)).ToArray();
        Assert.All(records.Where(r => r.Contains("\"type\":\"access\"", StringComparison.Ordinal)), r => Assert.Contains("\"clients\":\"beta\"", r, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("\"clients\":\"alpha\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"kind\":\"link\"", StringComparison.Ordinal));
        Assert.True(ExportVerifier.Verify(file, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task ClientExport_OfHandedOverRecords_CarriesThatClientsJoinedRecordsVerbatim_AndVerifies()
    {
        var observer = new CountingObserver();
        await using (var store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = _store, CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.FromHours(1) },
            _time,
            CancellationToken.None))
        {
            // A first commit, so that the handed-over records wait for the window (the writer commits
            // at once what it finds before its first commit) and the awaited append below ends it: one batch.
            await store.AppendAsync(RecordTypes.Suspension, "beta", Stores.Json("{}"), CancellationToken.None);
            for (var i = 0; i < 6; i++)
            {
                Assert.True(store.TryHandOver(RecordTypes.Access, i % 2 == 0 ? "alpha" : "beta", Stores.Json($$"""{"n":{{i}}}"""), observer));
            }

            await store.AppendAsync(RecordTypes.Suspension, "beta", Stores.Json("{}"), CancellationToken.None);
            await observer.WaitForAsync(6);
        }

        var file = Export(new RecordQuery { Client = "beta" });
        var lines = File.ReadAllLines(file);
        var access = Assert.Single(lines, l => l.Contains("\"type\":\"access\"", StringComparison.Ordinal) && l.Contains("\"kind\":\"record\"", StringComparison.Ordinal));
        Assert.Contains("""
            "payload":[{"n":1},{"n":3},{"n":5}]
            """, access, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("\"clients\":\"alpha\"", StringComparison.Ordinal));
        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task TimeWindowExport_Verifies()
    {
        await FillAsync();
        var file = Export(new RecordQuery { From = Stores.Start.AddSeconds(5), To = Stores.Start.AddSeconds(10) });
        var records = File.ReadAllLines(file).Count(l => l.Contains("\"type\":\"access\"", StringComparison.Ordinal));
        Assert.Equal(6, records);
        Assert.True(ExportVerifier.Verify(file, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task EditedExportLine_NamesLine()
    {
        await FillAsync();
        var file = Export(new RecordQuery());
        var lines = File.ReadAllLines(file);
        var target = Array.FindIndex(lines, l => l.Contains("\"index\":7,", StringComparison.Ordinal));
        lines[target] = lines[target].Replace("/orders/6", "/orders/66", StringComparison.Ordinal);
        File.WriteAllLines(file, lines);

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Equal(7, report.Problem!.Index);
        Assert.Equal(target + 1, report.Problem.Line);
    }

    [Fact]
    public async Task DroppedExportLine_NamesGap()
    {
        await FillAsync();
        var file = Export(new RecordQuery());
        var lines = File.ReadAllLines(file).ToList();
        lines.RemoveAt(lines.FindIndex(l => l.Contains("\"index\":9,", StringComparison.Ordinal)));
        File.WriteAllLines(file, lines);

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.Equal(9, report.Problem!.Index);
        Assert.Contains("missing", report.Problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncatedExport_Fails()
    {
        await FillAsync();
        var file = Export(new RecordQuery());
        var lines = File.ReadAllLines(file);
        File.WriteAllLines(file, lines.Take(lines.Length - 6).Append(lines[^1]));

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Contains("truncated", report.Problem!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageLine_NamesLine()
    {
        await FillAsync();
        var file = Export(new RecordQuery());
        var lines = File.ReadAllLines(file);
        lines[3] = "{not json";
        File.WriteAllLines(file, lines);

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.Equal(4, report.Problem!.Line);
    }

    [Fact]
    public void HostileHugeLine_RejectedBounded()
    {
        var file = _dir.File("huge.jsonl");
        using (var stream = File.Create(file))
        {
            stream.Write(Encoding.ASCII.GetBytes("""{"kind":"header","format":"segctl-evidence-export"}""" + "\n"));
            var chunk = new byte[1 << 20];
            Array.Fill(chunk, (byte)'a');
            for (var i = 0; i < 6; i++)
            {
                stream.Write(chunk);
            }
        }

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Equal(2, report.Problem!.Line);
    }

    [Fact]
    public async Task NonJsonPayload_ExportedAsBase64_Verifies()
    {
        await using (var store = await Stores.OpenAsync(_store, _time))
        {
            await store.AppendAsync(RecordTypes.Analysis, null, new byte[] { 0, 1, 2, 0xff, (byte)'\n' }, CancellationToken.None);
            await store.AppendAsync(RecordTypes.Analysis, null, Stores.Json(" {\"x\": 1} "), CancellationToken.None);
        }

        var file = Export(new RecordQuery());
        Assert.Equal(2, File.ReadAllLines(file).Count(l => l.Contains("payload_b64", StringComparison.Ordinal)));
        Assert.True(ExportVerifier.Verify(file, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task WindowExport_CarriesOnlyTheStretchBetweenCheckpoints_AndVerifiesAlone()
    {
        await FillWithCheckpointsAsync();
        var file = Export(new RecordQuery { From = Stores.Start.AddSeconds(13), To = Stores.Start.AddSeconds(17) });
        var lines = File.ReadAllLines(file);

        // Keys introduced before the window (records 0 and 6), then records 12 (the checkpoint before the
        // window) to 23 (the checkpoint after it), and no head: nothing of the other 34 records.
        Assert.Equal([0L, 6L], Indexes(lines, "key"));
        Assert.Equal(Enumerable.Range(12, 12).Select(i => (long)i), Indexes(lines, "record").Concat(Indexes(lines, "link")).Order());
        Assert.DoesNotContain(lines, l => l.Contains("\"kind\":\"head\"", StringComparison.Ordinal));
        Assert.Equal(5, lines.Count(l => l.Contains("\"type\":\"access\"", StringComparison.Ordinal)));

        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(12, report.Count);
        Assert.Equal(22, report.SignedThrough);
        Assert.Equal(2, report.KeyIds.Count);
    }

    [Fact]
    public async Task WindowExport_AtTheChainsEnds_StartsAtZeroOrEndsAtTheHead()
    {
        await FillWithCheckpointsAsync();
        var early = Export(new RecordQuery { From = Stores.Start.AddSeconds(2), To = Stores.Start.AddSeconds(4) });
        Assert.Equal(0, Indexes(File.ReadAllLines(early), "record").Min());
        Assert.True(ExportVerifier.Verify(early, CancellationToken.None).IsIntact);

        var late = Export(new RecordQuery { From = Stores.Start.AddSeconds(36) });
        var lines = File.ReadAllLines(late);
        Assert.Equal(34, Indexes(lines, "record").Concat(Indexes(lines, "link")).Min());
        Assert.Contains(lines, l => l.Contains("\"kind\":\"head\"", StringComparison.Ordinal));
        var report = ExportVerifier.Verify(late, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task WindowExport_Tampered_Fails()
    {
        await FillWithCheckpointsAsync();
        var query = new RecordQuery { From = Stores.Start.AddSeconds(13), To = Stores.Start.AddSeconds(17) };

        // A record of the window edited: named by index and line.
        var edited = Export(query);
        var lines = File.ReadAllLines(edited);
        var target = Array.FindIndex(lines, l => l.Contains("\"index\":16,", StringComparison.Ordinal));
        lines[target] = lines[target].Replace("/orders/", "/orderz/", StringComparison.Ordinal);
        File.WriteAllLines(edited, lines);
        var report = ExportVerifier.Verify(edited, CancellationToken.None);
        Assert.Equal(16, report.Problem!.Index);
        Assert.Equal(target + 1, report.Problem.Line);

        // The closing checkpoint cut off: the end no longer vouches for the window.
        var cut = Export(query);
        lines = File.ReadAllLines(cut);
        File.WriteAllLines(cut, lines[..^1]);
        Assert.Contains("signed head is missing", ExportVerifier.Verify(cut, CancellationToken.None).Problem!.Reason, StringComparison.Ordinal);

        // The header claims a longer window than the stretch covers.
        var widened = Export(query);
        lines = File.ReadAllLines(widened);
        lines[0] = lines[0].Replace(Iso(Stores.Start.AddSeconds(17)), Iso(Stores.Start.AddSeconds(25)), StringComparison.Ordinal);
        File.WriteAllLines(widened, lines);
        Assert.Contains("not after its window", ExportVerifier.Verify(widened, CancellationToken.None).Problem!.Reason, StringComparison.Ordinal);

        // The key that signed the opening checkpoint dropped: its signature cannot be checked.
        var keyless = Export(query);
        File.WriteAllLines(keyless, File.ReadAllLines(keyless).Where(l => !l.Contains("\"index\":6,", StringComparison.Ordinal)));
        Assert.Contains("checkpoint signature", ExportVerifier.Verify(keyless, CancellationToken.None).Problem!.Reason, StringComparison.Ordinal);

        // Started elsewhere than at a checkpoint.
        var headless = Export(query);
        lines = File.ReadAllLines(headless);
        File.WriteAllLines(headless, lines.Where(l => !l.Contains("\"index\":12,", StringComparison.Ordinal)));
        Assert.Contains("not a signed checkpoint", ExportVerifier.Verify(headless, CancellationToken.None).Problem!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientExport_RecordAlsoConcerningOtherClients_IsWithheld_NothingOfThemLeaks_CountsReported_AndVerifies()
    {
        long incident, finding;
        await using (var store = await Stores.OpenAsync(_store, _time))
        {
            await Stores.FillAsync(store, 4, _time);
            incident = await store.AppendAsync(RecordTypes.IncidentEvent, "alpha,beta", CrossClientIncident, CancellationToken.None);
            finding = await store.AppendAsync(RecordTypes.Finding, "alpha,beta", Stores.Json("""{"rule":"cross-client-flow","clients":["alpha","beta"],"summary":"Traffic between clients (alpha, beta): TCP 10.10.0.5:40000 → 10.20.0.7:443 on VLAN 110"}"""), CancellationToken.None);
            await Stores.FillAsync(store, 2, _time);
        }

        var file = _dir.File("alpha.jsonl");
        ExportSummary summary;
        using (var stream = File.Create(file))
        {
            summary = EvidenceExport.Write(_store, new RecordQuery { Client = "alpha" }, stream, _time.GetUtcNow(), CancellationToken.None);
        }

        // Nothing of beta: not its id, name, webhook, addresses or VLANs, in any line.
        var text = File.ReadAllText(file);
        Assert.DoesNotContain("beta", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("10.20.0.7", text, StringComparison.Ordinal);
        Assert.DoesNotContain("VLAN 120", text, StringComparison.Ordinal);

        // Each shared record stands as a link marked withheld, with its type and without its client key.
        var lines = File.ReadAllLines(file);
        foreach (var (index, type) in new[] { (incident, RecordTypes.IncidentEvent), (finding, RecordTypes.Finding) })
        {
            using var line = System.Text.Json.JsonDocument.Parse(Assert.Single(lines, l => l.Contains($",\"index\":{index},", StringComparison.Ordinal)));
            var root = line.RootElement;
            Assert.Equal("link", root.GetProperty("kind").GetString());
            Assert.True(root.GetProperty("withheld").GetBoolean());
            Assert.Equal(type, root.GetProperty("type").GetString());
            Assert.False(root.TryGetProperty("clients", out _));
            Assert.False(root.TryGetProperty("payload", out _));
        }

        using (var header = System.Text.Json.JsonDocument.Parse(lines[0]))
        {
            Assert.Equal(2, header.RootElement.GetProperty("withheld").GetInt64());
        }

        Assert.Equal(2, summary.Withheld);
        Assert.Equal(3, summary.Matching);
        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(2, report.Withheld);
        Assert.Equal(10, report.Count);

        // The site-wide export still carries them in full.
        var site = Export(new RecordQuery());
        Assert.Contains("Beta Telecom", File.ReadAllText(site), StringComparison.Ordinal);
        Assert.DoesNotContain("withheld", File.ReadAllText(site), StringComparison.Ordinal);
        Assert.Equal(0, ExportVerifier.Verify(site, CancellationToken.None).Withheld);
    }

    [Fact]
    public async Task ClientExport_WithheldMarksThatDisagreeWithTheHeader_Fail()
    {
        await using (var store = await Stores.OpenAsync(_store, _time))
        {
            await Stores.FillAsync(store, 2, _time);
            await store.AppendAsync(RecordTypes.IncidentEvent, "alpha,beta", CrossClientIncident, CancellationToken.None);
            await Stores.FillAsync(store, 2, _time);
        }

        // A withheld record passed off as an ordinary link: the header still counts it.
        var unmarked = Export(new RecordQuery { Client = "alpha" });
        var lines = File.ReadAllLines(unmarked);
        var target = Array.FindIndex(lines, l => l.Contains("\"withheld\":true", StringComparison.Ordinal));
        Assert.True(target > 0);
        lines[target] = lines[target].Replace("\"withheld\":true,", "", StringComparison.Ordinal);
        File.WriteAllLines(unmarked, lines);
        var report = ExportVerifier.Verify(unmarked, CancellationToken.None);
        Assert.False(report.IsIntact);
        Assert.Contains("the header counts 1 withheld records, the export marks 0", report.Problem!.Reason, StringComparison.Ordinal);

        // A site-wide export withholds nothing: a mark there is not the exporter's.
        var siteWide = Export(new RecordQuery { Client = "alpha" });
        lines = File.ReadAllLines(siteWide);
        lines[0] = lines[0].Replace("\"client\":\"alpha\"", "\"client\":null", StringComparison.Ordinal);
        File.WriteAllLines(siteWide, lines);
        report = ExportVerifier.Verify(siteWide, CancellationToken.None);
        Assert.Equal(target + 1, report.Problem!.Line);
        Assert.Contains("withheld in an export that is not for one client", report.Problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WindowClientExport_CountsTheWithheldRecordsOfItsWindowOnly()
    {
        await using (var store = await Stores.OpenAsync(_store, _time))
        {
            for (var i = 0; i < 6; i++)
            {
                _time.Advance(TimeSpan.FromSeconds(10));
                await store.AppendAsync(RecordTypes.Finding, i % 2 == 0 ? "alpha,beta" : "alpha", Stores.Json($$"""{"n":{{i}}}"""), CancellationToken.None);
                await store.CheckpointAsync(CancellationToken.None);
            }
        }

        // Findings at 10–60 s, every other one shared with beta (10, 30, 50 s): the window 25–45 s holds
        // those at 30 s (shared) and 40 s (alpha's alone); the stretch it carries, from the checkpoint at
        // 20 s to the one at 50 s, holds the shared one at 50 s too, outside the window: not counted.
        var file = Export(new RecordQuery { Client = "alpha", From = Stores.Start.AddSeconds(25), To = Stores.Start.AddSeconds(45) });
        var lines = File.ReadAllLines(file);
        using (var header = System.Text.Json.JsonDocument.Parse(lines[0]))
        {
            Assert.Equal(1, header.RootElement.GetProperty("withheld").GetInt64());
        }

        Assert.Single(lines, l => l.Contains("\"withheld\":true", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("\"type\":\"finding\"", StringComparison.Ordinal) && l.Contains("\"kind\":\"record\"", StringComparison.Ordinal));
        var report = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(1, report.Withheld);
    }

    /// <summary>
    /// Records: 0 key; 1–5 access (t 1–5 s); 6 key rotation; 7–11 access (6–10 s); 12 checkpoint; 13–22 access
    /// (11–20 s); 23 checkpoint; 24–33 access (21–30 s); 34 checkpoint; 35–44 access (31–40 s); 45 checkpoint at close.
    /// </summary>
    private async Task FillWithCheckpointsAsync()
    {
        await using var store = await Stores.OpenAsync(_store, _time);
        await Stores.FillAsync(store, 5, _time);
        await store.RotateKeyAsync(_dir.File("next.key.pem"), CancellationToken.None);
        await Stores.FillAsync(store, 5, _time);
        for (var i = 0; i < 3; i++)
        {
            await store.CheckpointAsync(CancellationToken.None);
            await Stores.FillAsync(store, 10, _time);
        }
    }

    /// <summary>An incident-event of a flow from alpha into beta, as the full record has it: beta's name, webhook, address and VLAN.</summary>
    private static readonly byte[] CrossClientIncident = Stores.Json("""{"event":"opened","id":"INC-20260301-080000-001","nature":"Traffic from Alpha Retail into Beta Telecom's VLAN 120 (10.20.0.7)","clients":["alpha","beta"],"notifications":[{"client":"beta","contact":"Beta SOC","url":"https://soc.beta-telecom.example/hooks/incident"}]}""");

    private static long[] Indexes(IEnumerable<string> lines, string kind) =>
        lines.Where(l => l.Contains($"\"kind\":\"{kind}\"", StringComparison.Ordinal))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("index").GetInt64())
            .ToArray();

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private async Task FillAsync()
    {
        await using var store = await Stores.OpenAsync(_store, _time);
        await Stores.FillAsync(store, 24, _time);
    }

    private string Export(RecordQuery query)
    {
        var file = _dir.File($"export-{Guid.NewGuid():N}.jsonl");
        using (var stream = File.Create(file))
        {
            EvidenceExport.Write(_store, query, stream, _time.GetUtcNow(), CancellationToken.None);
        }

        return file;
    }
}
