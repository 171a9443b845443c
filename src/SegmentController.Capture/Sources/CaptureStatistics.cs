namespace SegmentController.Capture.Sources;

/// <summary>libpcap's cumulative counters, widened to 64 bits across wrap-arounds.</summary>
/// <param name="Received">Frames the kernel passed the filter (on Linux including those it then dropped).</param>
/// <param name="Dropped">Frames dropped for lack of buffer space.</param>
/// <param name="InterfaceDropped">Frames the interface or driver dropped.</param>
internal readonly record struct CaptureStatistics(long Received, long Dropped, long InterfaceDropped)
{
    public long TotalDropped => Dropped + InterfaceDropped;
}
