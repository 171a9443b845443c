using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Export;
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
