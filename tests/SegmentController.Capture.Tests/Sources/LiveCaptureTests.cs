using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Policy;

namespace SegmentController.Capture.Tests.Sources;

/// <summary>
/// Real frames on a real wire: tcpreplay injects the corpus into a veth pair inside a namespace the
/// test creates, and the live source captures the other end (directly, or through a tc mirred SPAN).
/// </summary>
public sealed class LiveCaptureTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    private static (CaptureAnalyzer Analyzer, CaptureStatistics Statistics) CaptureWhileReplaying(VethLab lab, string pcap, int expectedFrames)
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), lab.CaptureInterface);
        using var source = new LiveInterfaceSource(new CaptureInterface { Name = lab.CaptureInterface, SnapLength = 2048, BufferMiB = 8 }, TimeProvider.System)
        {
            StatisticsInterval = TimeSpan.FromMilliseconds(200),
            ReadTimeout = TimeSpan.FromMilliseconds(50),
        };
        var statistics = 0;
        var sink = new CountingSink(analyzer, () => Interlocked.Increment(ref statistics));
        using var stop = new CancellationTokenSource();
        var capture = Task.Factory.StartNew(() => source.Run(sink, stop.Token), stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        // The handle is open once the first statistics arrive; frames sent before that would be missed. Each
        // wait ends as soon as what it waits for happens: the bounds are for a busy machine, not the usual.
        SpinWait.SpinUntil(() => Volatile.Read(ref statistics) > 0 || capture.IsCompleted, TimeSpan.FromSeconds(60));
        Assert.False(capture.IsCompleted, capture.Exception?.ToString());
        lab.Replay(pcap);
        SpinWait.SpinUntil(() => analyzer.Packets >= expectedFrames, TimeSpan.FromSeconds(60));
        var seen = Volatile.Read(ref statistics);
        SpinWait.SpinUntil(() => Volatile.Read(ref statistics) > seen + 1, TimeSpan.FromSeconds(60));
        stop.Cancel();
        Assert.True(capture.Wait(TimeSpan.FromSeconds(60)), "the capture did not stop");
        return (analyzer, source.Statistics);
    }

    [Fact]
    public void LeakySiteReplayedOnVeth_SameFindingsAsOffline()
    {
        var offline = Analysis.OfFrames(Rules.FixtureTests.LeakySite());
        using var lab = new VethLab(mirror: false);

        var (analyzer, statistics) = CaptureWhileReplaying(lab, Fixture("leaky-site.pcap"), (int)offline.Packets);

        Assert.Equal(offline.Packets, analyzer.Packets);
        Assert.Equal(0, analyzer.DecodeErrors);
        var live = analyzer.AllFindings(DateTimeOffset.UtcNow);
        Assert.Equal(
            offline.Findings.Select(f => (f.Rule, string.Join(',', f.Clients), f.Evidence["packets"])).Order(),
            live.Select(f => (f.Rule, string.Join(',', f.Clients), f.Evidence["packets"])).Order());
        Assert.True(statistics.Received >= offline.Packets, $"received {statistics.Received}");
        Assert.Equal(0, statistics.TotalDropped);
    }

    [Fact]
    public void CleanSiteThroughTcMirredSpan_NoFindings()
    {
        using var lab = new VethLab(mirror: true);
        var expected = Corpus.CleanMix().Count;

        var (analyzer, statistics) = CaptureWhileReplaying(lab, Fixture("clean-site.pcap"), expected);

        Assert.Equal(expected, analyzer.Packets);
        Assert.Empty(analyzer.AllFindings(DateTimeOffset.UtcNow));
        Assert.True(statistics.Received >= expected, $"received {statistics.Received}");
    }

    [Fact]
    public void LeakySiteThroughTcMirredSpan_EveryRuleFires()
    {
        using var lab = new VethLab(mirror: true);
        var leaks = Corpus.Leaks();

        var (analyzer, _) = CaptureWhileReplaying(lab, Fixture("leaky-site.pcap"), 32);

        Assert.Equal(
            leaks.Keys.Order(StringComparer.Ordinal),
            analyzer.AllFindings(DateTimeOffset.UtcNow).Select(f => f.Rule).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void NoSuchInterface_CaptureSourceException()
    {
        using var source = new LiveInterfaceSource(new CaptureInterface { Name = "segcap-none0" }, TimeProvider.System);

        var e = Assert.Throws<CaptureSourceException>(() => source.Run(new CaptureAnalyzer(TestPolicy.Index(), "x"), CancellationToken.None));

        Assert.Contains("segcap-none0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InterfaceWhoseLinkTypeIsNotEthernet_CaptureSourceException()
    {
        // Linux's "any" pseudo-interface delivers cooked (SLL) headers: read as Ethernet, every frame would decode
        // as something else and be judged by nothing, while frames keep counting as if verified.
        using var source = new LiveInterfaceSource(new CaptureInterface { Name = "any" }, TimeProvider.System)
        {
            ReadTimeout = TimeSpan.FromMilliseconds(50),
        };
        using var stop = new CancellationTokenSource();
        var sink = new StopWhenOpened(new CaptureAnalyzer(TestPolicy.Index(), "any"), stop);

        var e = Assert.Throws<CaptureSourceException>(() => source.Run(sink, stop.Token));

        Assert.Contains("any", e.Message, StringComparison.Ordinal);
        Assert.Contains("not Ethernet", e.Message, StringComparison.Ordinal);
        Assert.False(sink.Opened);
    }

    [Fact]
    public void BadBpfFilter_CaptureSourceException()
    {
        using var lab = new VethLab(mirror: false);
        using var source = new LiveInterfaceSource(new CaptureInterface { Name = lab.CaptureInterface, Filter = "this is not bpf" }, TimeProvider.System);

        Assert.Throws<CaptureSourceException>(() => source.Run(new CaptureAnalyzer(TestPolicy.Index(), "x"), CancellationToken.None));
    }

    [Fact]
    public void QuietInterfaceLongerThanSilence_CaptureDegraded()
    {
        using var lab = new VethLab(mirror: false);
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(silence: TimeSpan.FromMilliseconds(300)), lab.CaptureInterface) { StartedTicks = DateTime.UtcNow.Ticks };
        using var source = new LiveInterfaceSource(new CaptureInterface { Name = lab.CaptureInterface, Filter = "vlan 4000" }, TimeProvider.System)
        {
            ReadTimeout = TimeSpan.FromMilliseconds(50),
        };
        // Stopped once the analyzer calls the wire silent, however long that takes a busy machine.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        source.Run(new StopWhenDegraded(analyzer, stop), stop.Token);

        Assert.True(analyzer.Degraded);
        var finding = Assert.Single(analyzer.AllFindings(DateTimeOffset.UtcNow));
        Assert.Equal("capture-degraded", finding.Rule);
    }

    /// <summary>Passes everything to the analyzer and cancels <paramref name="stop"/> once the analyzer is degraded.</summary>
    private sealed class StopWhenDegraded(CaptureAnalyzer analyzer, CancellationTokenSource stop) : IFrameSink
    {
        private readonly IFrameSink _inner = analyzer;

        public void OnSourceOpened(long nowTicks) => _inner.OnSourceOpened(nowTicks);

        public void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) => _inner.OnFrame(frame, wireLength, timestampTicks);

        public void OnIdle(long nowTicks)
        {
            _inner.OnIdle(nowTicks);
            StopOnceDegraded();
        }

        public void OnStatistics(CaptureStatistics statistics, long nowTicks)
        {
            _inner.OnStatistics(statistics, nowTicks);
            StopOnceDegraded();
        }

        private void StopOnceDegraded()
        {
            if (analyzer.Degraded)
            {
                stop.Cancel();
            }
        }
    }

    /// <summary>Passes frames to the analyzer and signals each statistics poll.</summary>
    /// <summary>Ends the capture as soon as the source says it is open, so a source that opens returns at once.</summary>
    private sealed class StopWhenOpened(CaptureAnalyzer analyzer, CancellationTokenSource stop) : IFrameSink
    {
        private readonly IFrameSink _inner = analyzer;

        public bool Opened { get; private set; }

        public void OnSourceOpened(long nowTicks)
        {
            Opened = true;
            _inner.OnSourceOpened(nowTicks);
            stop.Cancel();
        }

        public void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) => _inner.OnFrame(frame, wireLength, timestampTicks);

        public void OnIdle(long nowTicks) => _inner.OnIdle(nowTicks);

        public void OnStatistics(CaptureStatistics statistics, long nowTicks) => _inner.OnStatistics(statistics, nowTicks);
    }

    private sealed class CountingSink(CaptureAnalyzer analyzer, Action onStatistics) : IFrameSink
    {
        private readonly IFrameSink _inner = analyzer;

        public void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) => _inner.OnFrame(frame, wireLength, timestampTicks);

        public void OnIdle(long nowTicks) => _inner.OnIdle(nowTicks);

        public void OnStatistics(CaptureStatistics statistics, long nowTicks)
        {
            _inner.OnStatistics(statistics, nowTicks);
            onStatistics();
        }
    }
}
