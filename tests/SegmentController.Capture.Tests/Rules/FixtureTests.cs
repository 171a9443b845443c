using SegmentController.Capture.Evidence;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// The committed fixtures (see Fixtures/README.md) replayed through the file source. They are what
/// the corpus builder produces; set SEGCTL_REGENERATE_FIXTURES=1 to rewrite them after changing it.
/// </summary>
public sealed class FixtureTests
{
    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    internal static List<EvidenceFrame> CleanSite() => Corpus.Timed(Corpus.CleanMix());

    internal static List<EvidenceFrame> LeakySite()
    {
        var frames = Corpus.CleanMix();
        foreach (var leak in Corpus.Leaks().OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            frames.AddRange(leak.Value);
        }

        return Corpus.Timed(frames);
    }

    private static CaptureReport Analyze(string name)
    {
        using var source = new PcapFileSource(FixturePath(name));
        return OfflineAnalysis.Run(source, TestPolicy.Index(), DateTimeOffset.UnixEpoch, null, CancellationToken.None);
    }

    [Theory]
    [InlineData("clean-site.pcap")]
    [InlineData("leaky-site.pcap")]
    public void CommittedFixture_IsWhatTheCorpusBuilds(string name)
    {
        using var buffer = new MemoryStream();
        PcapWriter.Write(buffer, name.StartsWith("clean", StringComparison.Ordinal) ? CleanSite() : LeakySite());
        var committed = Path.Combine(SourceDirectory(), "Fixtures", name);
        if (Environment.GetEnvironmentVariable("SEGCTL_REGENERATE_FIXTURES") == "1")
        {
            File.WriteAllBytes(committed, buffer.ToArray());
        }

        Assert.Equal(buffer.ToArray(), File.ReadAllBytes(FixturePath(name)));
    }

    [Fact]
    public void CleanSiteFixture_NoFindings()
    {
        var report = Analyze("clean-site.pcap");

        Assert.Empty(report.Findings);
        Assert.Equal(Corpus.CleanMix().Count, report.Packets);
    }

    [Fact]
    public void LeakySiteFixture_EveryFlowRuleOnce()
    {
        var report = Analyze("leaky-site.pcap");

        Assert.Equal(
            Corpus.Leaks().Keys.Order(StringComparer.Ordinal),
            report.Findings.Select(f => f.Rule).Order(StringComparer.Ordinal));
        Assert.Equal(0, report.DecodeErrors);
        var cross = Assert.Single(report.Findings, f => f.Rule == RuleIds.CrossClientFlow);
        Assert.Equal(["acme", "globex"], cross.Clients);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(path)!)!;
}
