using SegmentController.Capture.Classification;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;

namespace SegmentController.Capture.Tests.Support;

/// <summary>Writes frames to a real pcap file and analyses it through the file source, as the CLI does.</summary>
internal static class Analysis
{
    public static CaptureReport OfFrames(IEnumerable<EvidenceFrame> frames, PolicyIndex? index = null)
    {
        using var dir = new TempDirectory();
        var path = Corpus.WritePcap(dir.File("capture.pcap"), frames);
        using var source = new PcapFileSource(path);
        return OfflineAnalysis.Run(source, index ?? TestPolicy.Index(), DateTimeOffset.UnixEpoch, null, CancellationToken.None);
    }

    public static CaptureReport Of(IEnumerable<byte[]> frames, PolicyIndex? index = null) =>
        OfFrames(Corpus.Timed(frames), index);

    /// <summary>Runs <paramref name="frames"/> through the analyzer <paramref name="passes"/> times, a millisecond apart.</summary>
    public static void Feed(CaptureAnalyzer analyzer, byte[][] frames, ref long ticks, int passes)
    {
        for (var pass = 0; pass < passes; pass++)
        {
            foreach (var frame in frames)
            {
                // Milliseconds apart: the once-a-second flow expiry and violation sweep run too.
                analyzer.ProcessFrame(frame, frame.Length, ticks += TimeSpan.TicksPerMillisecond);
            }
        }
    }

    /// <summary>
    /// The fewest bytes the calling thread allocated in one of <paramref name="attempts"/> runs of 40 passes
    /// over <paramref name="frames"/> (<see cref="Feed"/>): a warm analyzer allocates none per frame, and the
    /// least of several attempts leaves out what the runtime itself allocated meanwhile.
    /// </summary>
    public static long LeastAllocated(CaptureAnalyzer analyzer, byte[][] frames, ref long ticks, int attempts)
    {
        var least = long.MaxValue;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Feed(analyzer, frames, ref ticks, passes: 40);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
