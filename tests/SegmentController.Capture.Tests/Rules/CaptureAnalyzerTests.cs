using SegmentController.Capture.Classification;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;

namespace SegmentController.Capture.Tests.Rules;

public sealed class CaptureAnalyzerTests
{
    [Fact]
    public async Task PolicyReloadedMidCapture_ExistingFlowJudgedByNewPolicy()
    {
        var hopping = Corpus.Leaks()[RuleIds.VlanHopping][0];
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(qinq: true), "eth-test");
        var t = Corpus.Start.Ticks;
        analyzer.ProcessFrame(hopping, hopping.Length, t);
        Assert.Empty(analyzer.AllFindings(DateTimeOffset.UnixEpoch));

        analyzer.UpdatePolicy(await PolicyIndex.BuildAsync(TestPolicy.Create(qinq: false), null, TimeSpan.FromSeconds(1), CancellationToken.None));
        analyzer.ProcessFrame(hopping, hopping.Length, t + 10);

        var finding = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
        Assert.Equal(RuleIds.VlanHopping, finding.Rule);
        Assert.Equal(1L, finding.Evidence["packets"]);
    }

    [Fact]
    public void CleanMix_PacketsCountedPerClient()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test");
        var t = Corpus.Start.Ticks;
        foreach (var frame in Corpus.CleanMix())
        {
            analyzer.ProcessFrame(frame, frame.Length, t += 10);
        }

        var counts = analyzer.ClientPackets();

        Assert.Equal(8, counts["acme"]);
        Assert.Equal(3, counts["globex"]);
    }

    [Fact]
    public void NewFindings_HandedOutOnce()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test");
        var leak = Corpus.Leaks()[RuleIds.CrossClientFlow][1];
        analyzer.ProcessFrame(leak, leak.Length, Corpus.Start.Ticks);

        var first = analyzer.TakeNewFindings(DateTimeOffset.UnixEpoch);
        analyzer.ProcessFrame(leak, leak.Length, Corpus.Start.Ticks + 10);
        var second = analyzer.TakeNewFindings(DateTimeOffset.UnixEpoch);

        Assert.Single(first);
        Assert.Empty(second);
        Assert.Equal(2L, Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch)).Evidence["packets"]);
    }

    [Fact]
    public void LossAboveThreshold_CaptureDegradedOncePerEpisode()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test");

        analyzer.ReportStatistics(10_000, 0, 1);
        analyzer.ReportStatistics(20_000, 50, 2);
        analyzer.ReportStatistics(30_000, 100, 3);
        analyzer.ReportStatistics(40_000, 100, 4);

        var finding = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
        Assert.Equal(RuleIds.CaptureDegraded, finding.Rule);
        Assert.Equal("loss", finding.Evidence["reason"]);
        Assert.False(analyzer.Degraded);
    }

    [Fact]
    public void ManyFlowsBeyondCapacity_OldestEvictedMemoryBounded()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test", new CaptureAnalyzerOptions { FlowCapacity = 100 });
        var t = Corpus.Start.Ticks;
        for (var port = 1; port <= 1000; port++)
        {
            var frame = Frames.Ethernet(Frames.Broadcast, Frames.Mac(TestPolicy.GlobexAgentMac), [20], 0x0800, Frames.Ipv4("10.20.0.21", "10.99.0.53", 17, Frames.Udp((ushort)port, 53, [])));
            analyzer.ProcessFrame(frame, frame.Length, t += 10);
        }

        Assert.Equal(100, analyzer.Flows.Count);
        Assert.Equal(900, analyzer.Flows.Evictions);
    }
}
