namespace SegmentController.Capture.Sources;

/// <summary>Bounds a hostile capture file cannot push the readers past.</summary>
internal static class CaptureFileLimits
{
    /// <summary>The largest frame a record may claim (libpcap's maximum snap length).</summary>
    public const int MaxFrameLength = 262_144;

    /// <summary>The largest pcapng block accepted (libpcap's limit).</summary>
    public const int MaxBlockLength = 16 * 1024 * 1024;

    /// <summary>The read buffer: large sequential reads, reused for the whole file.</summary>
    public const int BufferLength = 1024 * 1024;

    /// <summary>Most interfaces one pcapng section may describe.</summary>
    public const int MaxInterfaces = 4096;
}
