using SegmentController.Capture.Sources;

namespace SegmentController.Capture.Tests.Support;

/// <summary>Keeps a copy of every frame a source delivers.</summary>
internal sealed class RecordingSink : IFrameSink
{
    public List<(byte[] Data, int WireLength, long Ticks)> Frames { get; } = [];

    public void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) =>
        Frames.Add((frame.ToArray(), wireLength, timestampTicks));

    public void OnIdle(long nowTicks)
    {
    }

    public void OnStatistics(CaptureStatistics statistics, long nowTicks)
    {
    }
}
