using System.Security.Cryptography;
using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Core.Policy;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl pcap analyze … --store PATH</c> in-process against real SQLite store files.</summary>
public sealed class PcapAnalyzeStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "segctl-pcap-store-" + Guid.NewGuid().ToString("N"));

    public PcapAnalyzeStoreTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    [Fact]
    public async Task LeakyCaptureWithStore_AnalysisAndEveryFindingChainedVerifiedAndExported()
    {
        var store = Path.Combine(_dir, "evidence.db");

        var (exit, output, error) = await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"), "--store", store);

        Assert.Equal(1, exit);
        Assert.Equal(9, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("recorded in " + store + ": analysis record ", error, StringComparison.Ordinal);
        Assert.Contains(", 9 finding records", error, StringComparison.Ordinal);

        var (verified, verifyOutput, _) = await Segctl("log", "verify", "--store", store);
        Assert.Equal(0, verified);
        Assert.Contains("intact:", verifyOutput, StringComparison.Ordinal);

        var records = await ExportAsync(store);
        var findings = records.Where(r => r.GetProperty("type").GetString() == "finding").ToArray();
        Assert.Equal(
            ["arp-spoofing", "cleartext-to-client", "cross-client-flow", "proxy-bypass", "unknown-mac", "unknown-vlan", "vlan-hopping", "vlan-subnet-mismatch", "weak-tls"],
            findings.Select(f => f.GetProperty("payload").GetProperty("rule").GetString()).Order(StringComparer.Ordinal));
        var cross = findings.Single(f => f.GetProperty("payload").GetProperty("rule").GetString() == "cross-client-flow");
        Assert.Equal("acme,globex", cross.GetProperty("clients").GetString());
        Assert.Equal("10.20.0.21", cross.GetProperty("payload").GetProperty("evidence").GetProperty("dst").GetString());

        var analysis = Assert.Single(records, r => r.GetProperty("type").GetString() == "analysis");
        var payload = analysis.GetProperty("payload");
        Assert.Equal("leaky-site.pcap", payload.GetProperty("file").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Fixture("leaky-site.pcap")))), payload.GetProperty("sha256").GetString());
        Assert.Equal(32, payload.GetProperty("packets").GetInt64());
        Assert.Equal(0, payload.GetProperty("decode_errors").GetInt64());
        Assert.Equal(PolicyLoader.LoadFile(Fixture("site.yaml")).Policy!.Sha256, payload.GetProperty("policy_sha256").GetString());
        Assert.Equal(9, payload.GetProperty("findings").GetInt32());
        Assert.Equal(
            findings.Select(f => f.GetProperty("index").GetInt64()).Order(),
            payload.GetProperty("finding_records").EnumerateArray().Select(i => i.GetInt64()).Order());
        Assert.Equal("acme,globex", analysis.GetProperty("clients").GetString());
    }

    [Fact]
    public async Task LeakyCaptureWithStore_EachClientsExportShowsItsViewOfSharedFindingsAndOfTheAnalysis_NothingOfTheOther()
    {
        var store = Path.Combine(_dir, "evidence.db");
        Assert.Equal(1, (await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"), "--store", store)).Exit);
        var all = await ExportAsync(store);
        var shared = all.Where(r => r.GetProperty("type").GetString() == "finding" && r.GetProperty("clients").GetString() == "acme,globex").ToArray();
        Assert.Contains(shared, f => f.GetProperty("payload").GetProperty("rule").GetString() == "cross-client-flow");
        Assert.Contains(shared, f => f.GetProperty("payload").GetProperty("rule").GetString() == "vlan-subnet-mismatch");

        foreach (var (client, other, otherName, otherAddresses, otherVlan) in new[]
        {
            ("acme", "globex", "Globex", new[] { "10.20.", "2001:db8:20:" }, 20),
            ("globex", "acme", "Acme", new[] { "10.10.", "2001:db8:10:", "02:00:00:00:10:0" }, 10),
        })
        {
            var file = Path.Combine(_dir, client + ".jsonl");
            Assert.Equal(0, (await Segctl("log", "export", "--store", store, "--client", client, "--out", file)).Exit);
            var text = await File.ReadAllTextAsync(file);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
            var records = lines.Where(l => l.GetProperty("kind").GetString() == "record").ToArray();

            // One view of each shared finding, the client's own: same rule, counts and time, naming it alone.
            var views = records.Where(r => r.GetProperty("type").GetString() == "finding-view").ToArray();
            Assert.Equal(shared.Length, views.Length);
            foreach (var finding in shared.Select(f => f.GetProperty("payload")))
            {
                var view = Assert.Single(views, v => v.GetProperty("payload").GetProperty("rule").GetString() == finding.GetProperty("rule").GetString()
                    && v.GetProperty("payload").GetProperty("evidence").GetProperty("src_port").GetInt32() == finding.GetProperty("evidence").GetProperty("src_port").GetInt32()
                    && v.GetProperty("payload").GetProperty("evidence").GetProperty("dst_port").GetInt32() == finding.GetProperty("evidence").GetProperty("dst_port").GetInt32());
                Assert.Equal(client, view.GetProperty("clients").GetString());
                Assert.Equal([client], view.GetProperty("payload").GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
                Assert.Equal(finding.GetProperty("evidence").GetProperty("packets").GetInt64(), view.GetProperty("payload").GetProperty("evidence").GetProperty("packets").GetInt64());
                Assert.Equal(finding.GetProperty("observed_at").GetString(), view.GetProperty("payload").GetProperty("observed_at").GetString());
                Assert.Contains("another client", view.GetProperty("payload").GetProperty("summary").GetString(), StringComparison.Ordinal);
            }

            // Its view of the analysis: the file and counts, and the findings that concern it, by the records it has of them.
            var analysis = Assert.Single(records, r => r.GetProperty("type").GetString() == "analysis-view").GetProperty("payload");
            Assert.Equal("leaky-site.pcap", analysis.GetProperty("file").GetString());
            Assert.Equal(client, analysis.GetProperty("client").GetString());
            var shown = records.Where(r => r.GetProperty("type").GetString() is "finding" or "finding-view").Select(r => r.GetProperty("index").GetInt64()).Order().ToArray();
            Assert.Equal(shown, analysis.GetProperty("finding_records").EnumerateArray().Select(i => i.GetInt64()).Order());
            Assert.Equal(shown.Length, analysis.GetProperty("findings").GetInt32());
            Assert.Contains(lines, l => l.GetProperty("kind").GetString() == "link" && l.TryGetProperty("withheld", out _) && l.GetProperty("type").GetString() == "analysis");

            // Nothing of the other client anywhere: id, name, addresses, MACs, VLAN.
            Assert.DoesNotContain(other, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(otherName, text, StringComparison.OrdinalIgnoreCase);
            foreach (var address in otherAddresses)
            {
                Assert.DoesNotContain(address, text, StringComparison.OrdinalIgnoreCase);
            }

            Assert.All(views, v => Assert.DoesNotContain(v.GetProperty("payload").GetProperty("evidence").GetProperty("vlans").EnumerateArray(), e => e.ValueKind == JsonValueKind.Number && e.GetInt32() == otherVlan));
            Assert.DoesNotMatch($"VLANs? \\[?(?:[0-9]+(?:, ?|/))*{otherVlan}(?![0-9])", text);

            var (verified, report, _) = await Segctl("log", "verify", "--export", file);
            Assert.Equal(0, verified);
            Assert.Contains("intact", report, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NonIpFlowAcrossTwoClientsVlans_EachClientsViewKeepsOnlyTheMacsListedForIt()
    {
        // Stacked tags of acme's VLAN 10 and globex's VLAN 20 on a non-IP frame: the stations are named by
        // MAC alone. acme lists the source; nobody lists the destination.
        var pcap = Path.Combine(_dir, "non-ip.pcap");
        File.WriteAllBytes(pcap, NonIpPcap("02:00:00:00:10:01", "02:00:00:00:bb:02", [10, 20], frames: 3));
        var store = Path.Combine(_dir, "evidence.db");
        Assert.Equal(1, (await Segctl("pcap", "analyze", pcap, "--policy", Fixture("site.yaml"), "--store", store)).Exit);
        var full = Assert.Single(await ExportAsync(store), r => r.GetProperty("type").GetString() == "finding");
        Assert.Equal("acme,globex", full.GetProperty("clients").GetString());
        Assert.Equal("vlan-hopping", full.GetProperty("payload").GetProperty("rule").GetString());
        Assert.Equal("02:00:00:00:bb:02", full.GetProperty("payload").GetProperty("evidence").GetProperty("dst").GetString());

        foreach (var (client, kept, hidden) in new[]
        {
            ("acme", new[] { "02:00:00:00:10:01" }, new[] { "02:00:00:00:bb:02" }),
            ("globex", Array.Empty<string>(), new[] { "02:00:00:00:10:01", "02:00:00:00:bb:02" }),
        })
        {
            var file = Path.Combine(_dir, client + ".jsonl");
            Assert.Equal(0, (await Segctl("log", "export", "--store", store, "--client", client, "--out", file)).Exit);
            var text = await File.ReadAllTextAsync(file);
            var view = Assert.Single(
                text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()),
                l => l.GetProperty("kind").GetString() == "record" && l.GetProperty("type").GetString() == "finding-view").GetProperty("payload");
            Assert.Equal(kept.FirstOrDefault() ?? "[another client's MAC]", view.GetProperty("evidence").GetProperty("src").GetString());
            Assert.Equal("[a MAC not listed for this client]", view.GetProperty("evidence").GetProperty("dst").GetString());
            foreach (var mac in kept)
            {
                Assert.Contains(mac, view.GetProperty("summary").GetString(), StringComparison.Ordinal);
            }

            foreach (var mac in hidden)
            {
                Assert.DoesNotContain(mac, text, StringComparison.OrdinalIgnoreCase);
            }

            Assert.Equal(0, (await Segctl("log", "verify", "--export", file)).Exit);
        }
    }

    /// <summary>A classic pcap of <paramref name="frames"/> identical Ethernet frames, tagged with <paramref name="vlans"/> (outer first), of an experimental EtherType.</summary>
    private static byte[] NonIpPcap(string source, string destination, int[] vlans, int frames)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(0xa1b2c3d4u);
        writer.Write((ushort)2);
        writer.Write((ushort)4);
        writer.Write(0);
        writer.Write(0u);
        writer.Write(65535u);
        writer.Write(1u);
        var frame = new List<byte>();
        frame.AddRange(Convert.FromHexString(destination.Replace(":", "", StringComparison.Ordinal)));
        frame.AddRange(Convert.FromHexString(source.Replace(":", "", StringComparison.Ordinal)));
        foreach (var vlan in vlans)
        {
            frame.AddRange([0x81, 0x00, (byte)(vlan >> 8), (byte)vlan]);
        }

        frame.AddRange([0x88, 0xb5]);
        frame.AddRange(Enumerable.Repeat((byte)'x', 46));
        for (var i = 0; i < frames; i++)
        {
            writer.Write(1767225600u + (uint)i);
            writer.Write(0u);
            writer.Write((uint)frame.Count);
            writer.Write((uint)frame.Count);
            writer.Write(frame.ToArray());
        }

        writer.Flush();
        return stream.ToArray();
    }

    [Fact]
    public async Task CleanCaptureWithStoreJson_Exit0AnalysisRecorded_WithheldFromEachClientsExport()
    {
        var store = Path.Combine(_dir, "nested", "evidence.db");

        var (exit, output, _) = await Segctl("pcap", "analyze", Fixture("clean-site.pcap"), "--policy", Fixture("site.yaml"), "--store", store, "--json");

        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(output);
        var recorded = document.RootElement.GetProperty("store");
        Assert.Empty(recorded.GetProperty("finding_records").EnumerateArray());
        var index = recorded.GetProperty("analysis_record").GetInt64();

        Assert.Equal(0, (await Segctl("log", "verify", "--store", store)).Exit);
        var analysis = Assert.Single(await ExportAsync(store), r => r.GetProperty("type").GetString() == "analysis");
        Assert.Equal(index, analysis.GetProperty("index").GetInt64());
        Assert.Equal(20, analysis.GetProperty("payload").GetProperty("packets").GetInt64());
        Assert.Equal(0, analysis.GetProperty("payload").GetProperty("findings").GetInt32());

        // The analysis concerns every client of the site: a client's export withholds it (its findings
        // count and records are the site's), and says so.
        foreach (var client in new[] { "acme", "globex" })
        {
            var (exported, lines, _) = await Segctl("log", "export", "--store", store, "--client", client);
            Assert.Equal(0, exported);
            var withheld = Assert.Single(lines.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("\"withheld\":true", StringComparison.Ordinal));
            using var line = JsonDocument.Parse(withheld);
            Assert.Equal(index, line.RootElement.GetProperty("index").GetInt64());
            Assert.Equal("analysis", line.RootElement.GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task SecondAnalysisIntoSameStore_ChainStillVerifies()
    {
        var store = Path.Combine(_dir, "evidence.db");

        Assert.Equal(1, (await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"), "--store", store)).Exit);
        Assert.Equal(0, (await Segctl("pcap", "analyze", Fixture("clean-site.pcap"), "--policy", Fixture("site.yaml"), "--store", store)).Exit);

        Assert.Equal(0, (await Segctl("log", "verify", "--store", store)).Exit);
        var analyses = (await ExportAsync(store)).Where(r => r.GetProperty("type").GetString() == "analysis").ToArray();
        Assert.Equal(["leaky-site.pcap", "clean-site.pcap"], analyses.Select(a => a.GetProperty("payload").GetProperty("file").GetString()));
    }

    [Fact]
    public async Task StoreCannotBeWritten_Exit2AndSaysNotRecorded()
    {
        // A directory where the store file should be: SQLite cannot open it.
        var store = Path.Combine(_dir, "is-a-directory");
        Directory.CreateDirectory(store);

        var (exit, output, error) = await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"), "--store", store);

        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains("the analysis was not recorded", error, StringComparison.Ordinal);
    }

    private static async Task<JsonElement[]> ExportAsync(string store, params string[] filter)
    {
        var (exit, output, _) = await Segctl(["log", "export", "--store", store, .. filter]);
        Assert.Equal(0, exit);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .Where(r => r.GetProperty("kind").GetString() == "record")
            .ToArray();
    }

    private static async Task<(int Exit, string Output, string Error)> Segctl(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }
}
