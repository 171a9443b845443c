using System.Net;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A long-running capture: violations are published, updated, written out and forgotten; beyond the
/// cap they are aggregated and still reported; capture health episodes are one finding each.
/// </summary>
public sealed class ViolationLifecycleTests
{
    private static readonly DateTimeOffset Now = new(Corpus.Start, TimeSpan.Zero);

    /// <summary>The corpus site plus a third client, initech (VLAN 30, 10.30.0.0/16).</summary>
    private static PolicyIndex ThreeClients()
    {
        var policy = TestPolicy.Create();
        var initech = new ClientDefinition
        {
            Id = "initech",
            Name = "Initech",
            ContractEnd = new DateOnly(2030, 1, 1),
            Segments = [new Segment { Name = "agents", Vlans = [30], Subnets = [IPNetwork.Parse("10.30.0.0/16")] }],
        };
        return PolicyIndex.BuildAsync(policy with { Clients = [.. policy.Clients, initech] }, null, TimeSpan.FromSeconds(1), CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>acme 10.10.0.11 → a client address on port <paramref name="port"/>: a cross-client flow.</summary>
    private static byte[] Leak(ushort port, string destination = "10.20.0.21") =>
        Ethernet(Mac(TestPolicy.GlobexAgentMac), Mac(TestPolicy.AcmeAgentMac), [10], 0x0800, Ipv4("10.10.0.11", destination, 6, Tcp(port, 445, 0x18, new byte[40])));

    private static void Feed(CaptureAnalyzer analyzer, byte[] frame, long ticks) => analyzer.ProcessFrame(frame, frame.Length, ticks);

    [Fact]
    public void BeyondTheCap_NewViolationsAggregatedReportedAndSuppressionCounted()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t", new CaptureAnalyzerOptions { MaxViolations = 10 });
        var t = Corpus.Start.Ticks;
        for (ushort port = 1; port <= 30; port++)
        {
            Feed(analyzer, Leak(port), t += 10);
        }

        Feed(analyzer, Leak(25), t += 10);
        var findings = analyzer.TakeNewFindings(Now);

        Assert.Equal(20, analyzer.SuppressedViolations);
        Assert.Equal(10, findings.Count(f => f.Rule == RuleIds.CrossClientFlow && !f.Evidence.ContainsKey("aggregated")));
        var aggregate = Assert.Single(findings, f => f.Evidence.ContainsKey("aggregated"));
        Assert.Equal(RuleIds.CrossClientFlow, aggregate.Rule);
        Assert.Equal(Severity.Critical, aggregate.Severity);
        Assert.Equal(["acme", "globex"], aggregate.Clients);
        Assert.Equal(20L, aggregate.Evidence["flows"]);
        Assert.Equal(21L, aggregate.Evidence["packets"]);
        var overflow = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal("overflow", overflow.Evidence["reason"]);
        Assert.Equal(20L, overflow.Evidence["suppressed"]);
        Assert.True(analyzer.Degraded);
    }

    [Fact]
    public void CapReached_CriticalViolationForANewClientStillReportedAsNew()
    {
        var analyzer = new CaptureAnalyzer(ThreeClients(), "t", new CaptureAnalyzerOptions { MaxViolations = 5 });
        var t = Corpus.Start.Ticks;
        for (ushort port = 1; port <= 10; port++)
        {
            Feed(analyzer, Leak(port), t += 10);
        }

        analyzer.TakeNewFindings(Now);

        // Nothing can be forgotten yet (all recent): initech's first leak is folded into the aggregate,
        // which is handed out again as a new finding because it now concerns initech.
        Feed(analyzer, Leak(99, "10.30.0.31"), t += 10);
        var findings = analyzer.TakeNewFindings(Now);

        // The overflow episode, which now concerns initech too, is handed out again beside it.
        var aggregate = Assert.Single(findings, f => f.Rule == RuleIds.CrossClientFlow);
        Assert.False(aggregate.Update);
        Assert.Equal(Severity.Critical, aggregate.Severity);
        Assert.Equal(["acme", "globex", "initech"], aggregate.Clients);
        Assert.Equal(2, findings.Count);
    }

    [Fact]
    public void BeyondTheCap_OverflowNamesTheClientsOfTheFoldedFlowsAndWidensAsNew()
    {
        var analyzer = new CaptureAnalyzer(ThreeClients(), "t", new CaptureAnalyzerOptions { MaxViolations = 5 });
        var t = Corpus.Start.Ticks;
        for (ushort port = 1; port <= 10; port++)
        {
            Feed(analyzer, Leak(port), t += 10);
        }

        // Only acme's and globex's flows were folded: initech's verification is intact.
        var overflow = Assert.Single(analyzer.TakeNewFindings(Now), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal("overflow", overflow.Evidence["reason"]);
        Assert.Equal(["acme", "globex"], overflow.Clients);
        Assert.Equal(5L, overflow.Evidence["suppressed"]);
        Assert.EndsWith("(acme, globex)", overflow.Summary, StringComparison.Ordinal);

        // A folded flow of acme's that names no one new widens nothing; one reaching initech does, and the
        // same episode is handed out again as new so that initech's suspension can follow.
        Feed(analyzer, Leak(11), t += 10);
        Assert.DoesNotContain(analyzer.TakeNewFindings(Now), f => f.Rule == RuleIds.CaptureDegraded);
        Feed(analyzer, Leak(99, "10.30.0.31"), t += 10);
        var widened = Assert.Single(analyzer.TakeNewFindings(Now), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.False(widened.Update);
        Assert.Equal(overflow.Key, widened.Key);
        Assert.Equal(["acme", "globex", "initech"], widened.Clients);
        Assert.Equal(7L, widened.Evidence["suppressed"]);
    }

    [Fact]
    public void BeyondTheCap_FoldedFlowNamingNoClient_OverflowConcernsTheWholeSite()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t", new CaptureAnalyzerOptions { MaxViolations = 5 });
        var t = Corpus.Start.Ticks;
        for (ushort port = 1; port <= 6; port++)
        {
            Feed(analyzer, Leak(port), t += 10);
        }

        Assert.Equal(["acme", "globex"], Assert.Single(analyzer.TakeNewFindings(Now), f => f.Rule == RuleIds.CaptureDegraded).Clients);

        // Traffic on a VLAN the policy does not name between addresses no segment holds: whose it is, no
        // one can tell, and its aggregate suspends nobody. The episode now names no client.
        var stray = Ethernet(Mac("02:00:00:00:55:02"), Mac("02:00:00:00:55:01"), [555], 0x0800, Ipv4("172.16.0.1", "172.16.0.2", 17, Udp(5000, 5001, new byte[8])));
        Feed(analyzer, stray, t += 10);

        var findings = analyzer.TakeNewFindings(Now);
        Assert.Empty(Assert.Single(findings, f => f.Rule == RuleIds.UnknownVlan).Clients);
        var overflow = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.False(overflow.Update);
        Assert.Empty(overflow.Clients);
        Assert.Contains("the whole site", overflow.Summary, StringComparison.Ordinal);

        // Flows of named clients folded later do not narrow it again.
        Feed(analyzer, Leak(40), t += 10);
        Assert.DoesNotContain(analyzer.TakeNewFindings(Now), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Empty(Assert.Single(analyzer.AllFindings(Now), f => f.Rule == RuleIds.CaptureDegraded).Clients);
    }

    [Fact]
    public void PublishedWrittenAndIdle_ForgottenSoNewViolationsAreTrackedOneByOneAgain()
    {
        var options = new CaptureAnalyzerOptions { MaxViolations = 10, FlowIdleTimeout = TimeSpan.FromMinutes(1) };
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t", options);
        var t = Corpus.Start.Ticks;
        for (ushort port = 1; port <= 12; port++)
        {
            Feed(analyzer, Leak(port), t += 10);
        }

        analyzer.TakeNewFindings(Now);
        foreach (var (violation, frames) in analyzer.TakeEvidence(t + TimeSpan.TicksPerMinute, TimeSpan.FromSeconds(5)))
        {
            Assert.NotEmpty(frames);
            analyzer.EvidenceWritten(violation, $"/evidence/{violation.Flow.SourcePort}.pcap", "00", null);
        }

        analyzer.TakeUpdates(Now, counts: true);
        Assert.Equal(0, analyzer.EvidenceBytes);

        // Two minutes later (idle beyond the flow timeout) new leaks arrive; the sweep has made room.
        t += 2 * TimeSpan.TicksPerMinute;
        for (ushort port = 100; port <= 104; port++)
        {
            Feed(analyzer, Leak(port), t += TimeSpan.TicksPerSecond);
        }

        var findings = analyzer.TakeNewFindings(Now);
        Assert.Equal(5, findings.Count(f => f.Rule == RuleIds.CrossClientFlow && !f.Evidence.ContainsKey("aggregated")));
        Assert.DoesNotContain(findings, f => f.Evidence.ContainsKey("aggregated"));
        Assert.Equal(2, analyzer.SuppressedViolations);
        Assert.False(analyzer.Degraded);
        var overflow = Assert.Single(analyzer.TakeUpdates(Now, counts: false), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(false, overflow.Evidence["ongoing"]);
        Assert.True(overflow.Update);
        Assert.Equal(5, analyzer.Violations().Count(v => !v.IsAggregate));
    }

    [Fact]
    public void NotYetWrittenOrNotYetPublished_NeverForgotten()
    {
        var options = new CaptureAnalyzerOptions { MaxViolations = 2, FlowIdleTimeout = TimeSpan.FromMinutes(1) };
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t", options);
        var t = Corpus.Start.Ticks;
        Feed(analyzer, Leak(1), t);
        Feed(analyzer, Leak(2), t);
        analyzer.TakeNewFindings(Now);

        // Published, but no evidence written: still tracked after hours, so the next leak is aggregated.
        t += TimeSpan.TicksPerHour;
        Feed(analyzer, Leak(3), t);

        Assert.Equal(1, analyzer.SuppressedViolations);
        Assert.Equal(2, analyzer.Violations().Count(v => !v.IsAggregate));
    }

    [Fact]
    public void CountsMoved_PublishedAgainAsUpdateOnlyWhenCountsAreDue()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var t = Corpus.Start.Ticks;
        Feed(analyzer, Leak(1), t);
        var first = Assert.Single(analyzer.TakeNewFindings(Now));
        Assert.False(first.Update);
        Assert.Equal(1L, first.Evidence["packets"]);

        for (var i = 0; i < 4; i++)
        {
            Feed(analyzer, Leak(1), t += TimeSpan.TicksPerSecond);
        }

        Assert.Empty(analyzer.TakeNewFindings(Now));
        Assert.Empty(analyzer.TakeUpdates(Now, counts: false));
        var update = Assert.Single(analyzer.TakeUpdates(Now, counts: true));
        Assert.True(update.Update);
        Assert.Equal(RuleIds.CrossClientFlow, update.Rule);
        Assert.Equal(5L, update.Evidence["packets"]);
        Assert.Equal(first.Evidence["first_seen"], update.Evidence["first_seen"]);
        Assert.Equal(new DateTimeOffset(t, TimeSpan.Zero), update.Evidence["last_seen"]);
        Assert.Empty(analyzer.TakeUpdates(Now, counts: true));
    }

    [Fact]
    public void EvidenceWritten_UpdateCarriesFileAtOnceAndMemoryIsFreed()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var t = Corpus.Start.Ticks;
        for (var i = 0; i < 10; i++)
        {
            Feed(analyzer, Leak(1), t += 10);
        }

        analyzer.TakeNewFindings(Now);
        Assert.True(analyzer.EvidenceBytes > 0);

        var (violation, frames) = Assert.Single(analyzer.TakeEvidence(t, TimeSpan.FromHours(1)));
        Assert.Equal(8, frames.Length);
        Feed(analyzer, Leak(1), t += 10);
        analyzer.EvidenceWritten(violation, "/evidence/leak.pcap", "ab12", null);

        Assert.Equal(0, analyzer.EvidenceBytes);
        Assert.Empty(violation.Frames);
        var update = Assert.Single(analyzer.TakeUpdates(Now, counts: false));
        Assert.Equal("/evidence/leak.pcap", update.Evidence["evidence_file"]);
        Assert.Equal("ab12", update.Evidence["evidence_sha256"]);
        Assert.Equal(11L, update.Evidence["packets"]);
    }

    [Fact]
    public void FewFramesButWindowPassed_EvidenceHandedOverWithWhatWasKept()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var t = Corpus.Start.Ticks;
        Feed(analyzer, Leak(1), t);

        Assert.Empty(analyzer.TakeEvidence(t + TimeSpan.TicksPerSecond, TimeSpan.FromSeconds(5)));
        var (_, frames) = Assert.Single(analyzer.TakeEvidence(t + (6 * TimeSpan.TicksPerSecond), TimeSpan.FromSeconds(5)));
        Assert.Single(frames);
    }

    [Fact]
    public void SilenceThenFramesAgain_OneFindingUpdatedWithItsDuration()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(silence: TimeSpan.FromSeconds(10)), "t");
        IFrameSink sink = analyzer;
        var t = Corpus.Start.Ticks;
        var clean = Corpus.CleanMix()[4];
        Feed(analyzer, clean, t);
        for (var second = 1; second <= 40; second++)
        {
            sink.OnIdle(t + (second * TimeSpan.TicksPerSecond));
        }

        var raised = Assert.Single(analyzer.TakeNewFindings(Now));
        Assert.Equal("silence", raised.Evidence["reason"]);
        Assert.True(analyzer.Degraded);

        Feed(analyzer, clean, t + (45 * TimeSpan.TicksPerSecond));

        Assert.False(analyzer.Degraded);
        Assert.Empty(analyzer.TakeNewFindings(Now));
        var ended = Assert.Single(analyzer.TakeUpdates(Now, counts: false));
        Assert.True(ended.Update);
        Assert.Equal(RuleIds.CaptureDegraded, ended.Rule);
        Assert.Equal(45.0, ended.Evidence["seconds"]);
        Assert.Equal(false, ended.Evidence["ongoing"]);
        Assert.Single(analyzer.AllFindings(Now));
    }

    [Fact]
    public void LiveSourceReopened_LossCountedPerInstanceAndTotalsKeepGrowing()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        IFrameSink sink = analyzer;
        sink.OnSourceOpened(1);
        sink.OnStatistics(new CaptureStatistics(1_000_000, 0, 0), 2);
        sink.OnStatistics(new CaptureStatistics(2_000_000, 0, 0), 3);

        // The reopened source counts from zero; its drops are new drops, not hidden behind the old totals.
        sink.OnSourceOpened(4);
        sink.OnStatistics(new CaptureStatistics(1_000, 50, 0), 5);

        Assert.Equal(new CaptureStatistics(2_001_000, 50, 0), analyzer.Statistics);
        var loss = Assert.Single(analyzer.AllFindings(Now));
        Assert.Equal("loss", loss.Evidence["reason"]);
        Assert.Equal(50L, loss.Evidence["dropped"]);
        Assert.True(analyzer.Degraded);

        sink.OnStatistics(new CaptureStatistics(500_000, 60, 5), 6);
        Assert.Equal(new CaptureStatistics(2_500_000, 60, 5), analyzer.Statistics);
    }

    [Fact]
    public void SourceCountersGoBackUnannounced_TakenAsANewInstance()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        analyzer.ReportStatistics(new CaptureStatistics(10_000, 100, 0), 1);
        analyzer.ReportStatistics(new CaptureStatistics(500, 20, 0), 2);

        Assert.Equal(new CaptureStatistics(10_500, 120, 0), analyzer.Statistics);
    }
}
