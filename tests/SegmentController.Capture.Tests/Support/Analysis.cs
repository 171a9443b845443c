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
}
