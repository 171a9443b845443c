namespace SegmentController.Capture.Sources;

/// <summary>Receives frames from a capture source, on the source's thread.</summary>
internal interface IFrameSink
{
    /// <summary>One frame; <paramref name="frame"/> is valid only during the call: copy what you keep.</summary>
    void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks);

    /// <summary>No frame arrived within the read timeout (live sources only).</summary>
    void OnIdle(long nowTicks);

    /// <summary>Cumulative capture counters of this source instance (live sources only, every few seconds).</summary>
    void OnStatistics(CaptureStatistics statistics, long nowTicks);

    /// <summary>
    /// A source instance opened and will feed this sink; its counters (<see cref="OnStatistics"/>) start
    /// from zero, whatever an earlier instance on the same interface reported.
    /// </summary>
    void OnSourceOpened(long nowTicks)
    {
    }
}
