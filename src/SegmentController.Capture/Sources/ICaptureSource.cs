namespace SegmentController.Capture.Sources;

/// <summary>A place frames come from: a capture file or a live interface.</summary>
internal interface ICaptureSource : IDisposable
{
    /// <summary>The interface name or file path.</summary>
    string Name { get; }

    /// <summary>
    /// Opens the source (throws <see cref="CaptureSourceException"/> when it cannot) and delivers
    /// frames to <paramref name="sink"/> on the calling thread until the input ends or
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    void Run(IFrameSink sink, CancellationToken cancellationToken);

    /// <summary>The latest counters (zero for files).</summary>
    CaptureStatistics Statistics { get; }
}
