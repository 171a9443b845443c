namespace SegmentController.Capture.Sources;

/// <summary>Receives frames from a capture source, on the source's thread.</summary>
internal interface IFrameSink
{
    /// <summary>One frame; <paramref name="frame"/> is valid only during the call: copy what you keep.</summary>
    void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks);

    /// <summary>No frame arrived within the read timeout (live sources only).</summary>
    void OnIdle(long nowTicks);

    /// <summary>Cumulative capture counters (live sources only, every few seconds).</summary>
    void OnStatistics(CaptureStatistics statistics, long nowTicks);
}
