using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace SegmentController.Capture.Sources;

/// <summary>
/// A pcap or pcapng file, read by our own format walkers: large sequential reads into one reused
/// buffer and records parsed in place, which is several times faster than a libpcap call and a header
/// copy per packet and allocates nothing per frame. Input is hostile: a bad file header is a
/// <see cref="CaptureSourceException"/>; a broken record stops reading with <see cref="TruncationError"/>
/// after delivering every frame before it.
/// </summary>
internal sealed class PcapFileSource : ICaptureSource
{
    private readonly string _path;

    public PcapFileSource(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    public string Name => _path;

    public CaptureStatistics Statistics => default;

    /// <summary>Hash the whole file while reading it (see <see cref="Sha256"/>).</summary>
    public bool ComputeSha256 { get; init; }

    /// <summary>Set when the file ended in a broken record (the frames before it were delivered).</summary>
    public string? TruncationError { get; private set; }

    /// <summary>Frames delivered by the last <see cref="Run"/>.</summary>
    public long Frames { get; private set; }

    /// <summary>The file's length in bytes, after <see cref="Run"/>.</summary>
    public long Length { get; private set; }

    /// <summary>The SHA-256 of the file's bytes as read, after <see cref="Run"/> with <see cref="ComputeSha256"/>.</summary>
    public byte[]? Sha256 { get; private set; }

    public void Run(IFrameSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CaptureSourceException($"{_path}: no such file", e);
        }
        catch (UnauthorizedAccessException e) when (Directory.Exists(_path))
        {
            throw new CaptureSourceException($"{_path}: is a directory, not a capture file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaptureSourceException($"{_path}: cannot be read ({e.Message})", e);
        }

        using (handle)
        using (var window = new FileWindow(handle, CaptureFileLimits.BufferLength, CaptureFileLimits.MaxBlockLength, ComputeSha256))
        {
            try
            {
                var frames = 0L;
                try
                {
                    TruncationError = ReadAll(window, sink, cancellationToken, ref frames);
                }
                finally
                {
                    Frames = frames;
                }

                Sha256 = window.FinishHash();
                Length = window.BytesRead;
            }
            catch (IOException e)
            {
                throw new CaptureSourceException($"{_path}: read failed ({e.Message})", e);
            }
        }
    }

    private string? ReadAll(FileWindow window, IFrameSink sink, CancellationToken cancellationToken, ref long frames)
    {
        if (!window.Ensure(4))
        {
            throw new CaptureSourceException($"{_path}: not a readable pcap or pcapng file ({window.Data.Length} bytes long)");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(window.Data);
        if (PcapFileFormat.IsMagic(magic))
        {
            return PcapFileFormat.Run(window, _path, sink, cancellationToken, ref frames);
        }

        if (magic == PcapngFileFormat.SectionHeaderType)
        {
            return PcapngFileFormat.Run(window, _path, sink, cancellationToken, ref frames);
        }

        throw new CaptureSourceException($"{_path}: not a readable pcap or pcapng file (unknown magic 0x{magic:x8})");
    }

    public void Dispose()
    {
    }
}
