using SharpPcap;
using SharpPcap.LibPcap;

namespace SegmentController.Capture.Sources;

/// <summary>A pcap or pcapng file, read through libpcap (which detects the format).</summary>
internal sealed class PcapFileSource : ICaptureSource
{
    private readonly string _path;
    private CaptureFileReaderDevice? _device;

    public PcapFileSource(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    public string Name => _path;

    public CaptureStatistics Statistics => default;

    /// <summary>Set when the file ended in a broken record (the frames before it were delivered).</summary>
    public string? TruncationError { get; private set; }

    public void Run(IFrameSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (!File.Exists(_path))
        {
            throw new CaptureSourceException($"{_path}: no such file");
        }

        try
        {
            _device = new CaptureFileReaderDevice(_path);
            _device.Open();
        }
        catch (Exception e) when (e is PcapException or DllNotFoundException or IOException)
        {
            throw new CaptureSourceException($"{_path}: not a readable pcap or pcapng file ({e.Message.Trim()})", e);
        }

        if ((int)_device.LinkType != PcapFrameReader.LinkTypeEthernet)
        {
            throw new CaptureSourceException($"{_path}: link type {_device.LinkType} is not Ethernet");
        }

        var nanoseconds = PcapFrameReader.UsesNanoseconds(_device);
        var count = 0;
        while (true)
        {
            // Checking the token every frame would cost more than the frame; every 4096 is prompt enough.
            if ((++count & 0xFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var result = PcapFrameReader.Next(_device, sink, nanoseconds);
            if (result == 1)
            {
                continue;
            }

            if (result == -1)
            {
                TruncationError = $"{_path}: {_device.LastError}";
            }

            return;
        }
    }

    public void Dispose()
    {
        _device?.Close();
        _device?.Dispose();
        _device = null;
    }
}
