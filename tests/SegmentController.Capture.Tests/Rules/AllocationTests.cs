using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// The hot path allocates nothing per frame: counted with the thread's allocation counter around a
/// warm corpus (every flow known, every violation's evidence kept) — bytes, not time. The runtime itself
/// may now and then allocate on the thread (starting its tiered-compilation worker), a few hundred bytes
/// once; so each measurement is taken several times and the least must be zero. An allocation per frame
/// would show in every one of them.
/// </summary>
public sealed class AllocationTests
{
    private const int Attempts = 5;

    private static byte[][] WholeCorpus() => [.. Corpus.CleanMix(), .. Corpus.Leaks().Values.SelectMany(f => f)];

    [Fact]
    public void WarmCorpus_DecodeAllocatesNothing()
    {
        var frames = WholeCorpus();
        var decoded = default(DecodedFrame);
        foreach (var frame in frames)
        {
            FrameDecoder.Decode(frame, frame.Length, ref decoded);
        }

        var least = long.MaxValue;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var pass = 0; pass < 200; pass++)
            {
                foreach (var frame in frames)
                {
                    FrameDecoder.Decode(frame, frame.Length, ref decoded);
                }
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, least);
    }

    [Fact]
    public void WarmCorpus_DecodeClassifyAndJudgeAllocateNothingPerFrame()
    {
        var frames = WholeCorpus();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "alloc");
        var ticks = Corpus.Start.Ticks;

        // Warm: every flow classified, every violation holding all its evidence frames, every binding
        // and server name remembered.
        Analysis.Feed(analyzer, frames, ref ticks, passes: 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch).Count;
        var least = Analysis.LeastAllocated(analyzer, frames, ref ticks, attempts: Attempts);

        Assert.Equal(0, least);
        Assert.Equal((10L + (Attempts * 40)) * frames.Length, analyzer.Packets);
        Assert.Equal(findings, analyzer.AllFindings(DateTimeOffset.UnixEpoch).Count);
        Assert.Equal(Corpus.Leaks().Count, findings);
    }
}
