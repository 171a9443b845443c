using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace SegmentController.Capture.Sources;

/// <summary>
/// A sliding window over a file for the capture file walkers: large sequential reads into two reused
/// buffers, the next chunk read ahead on a pool thread while the current one is walked in place, so
/// the kernel's copy overlaps the analysis instead of adding to it. Optionally hashes every byte as it
/// enters the window (the hash then covers exactly what was analysed, in one pass).
/// </summary>
/// <remarks>
/// Each buffer keeps <see cref="Headroom"/> bytes in front of its chunk: the unread tail of the
/// current buffer (a record cut by the chunk boundary) is copied there, so records stay contiguous.
/// A record longer than the headroom (only pcapng blocks can be) is assembled in a larger buffer,
/// grown geometrically up to the maximum. Not thread-safe: one reader owns it.
/// The file is read in order, through a stream without a buffer of its own: a regular file at its offsets
/// (as <c>pread</c>), and a pipe (<c>tcpdump -w - | segctl pcap analyze /dev/stdin</c>, a named pipe) as its
/// producer writes it, a short read at a time.
/// </remarks>
internal sealed class FileWindow : IDisposable
{
    /// <summary>Room for any record the classic format allows, plus its header.</summary>
    public const int Headroom = CaptureFileLimits.MaxFrameLength + 64;

    private readonly FileStream _stream;
    private readonly IncrementalHash? _hash;
    private readonly int _chunkLength;
    private readonly int _maxLength;
    private byte[] _buffer;
    private byte[] _spare;
    private Task<int>? _pending;
    private int _start;
    private int _end;
    private long _fileOffset;
    private bool _endOfFile;

    public FileWindow(SafeFileHandle handle, int chunkLength, int maxLength, bool sha256)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkLength, 4096);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, Headroom);
        // bufferSize 0: reads go straight into the window's buffers.
        _stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        _chunkLength = chunkLength;
        _maxLength = maxLength;
        _buffer = new byte[Headroom + chunkLength];
        _spare = new byte[Headroom + chunkLength];
        _start = _end = Headroom;
        _hash = sha256 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    }

    /// <summary>The unread bytes currently in the window.</summary>
    public ReadOnlySpan<byte> Data => new(_buffer, _start, _end - _start);

    /// <summary>The file offset of the first byte of <see cref="Data"/>.</summary>
    public long Position => _fileOffset - (_end - _start);

    /// <summary>Bytes taken from the file into the window so far.</summary>
    public long BytesRead => _fileOffset;

    /// <summary>Consumes <paramref name="count"/> bytes of <see cref="Data"/>.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)(_end - _start));
        _start += count;
    }

    /// <summary>
    /// Makes at least <paramref name="count"/> bytes available in <see cref="Data"/>, taking more of the
    /// file as needed. False when the file ends first, or when <paramref name="count"/> exceeds the maximum.
    /// </summary>
    public bool Ensure(int count)
    {
        if (count > _maxLength)
        {
            return false;
        }

        while (_end - _start < count)
        {
            if (_endOfFile || !TakeChunk())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The SHA-256 of the whole file (takes what was not read yet); null when not hashing.</summary>
    public byte[]? FinishHash()
    {
        if (_hash is null)
        {
            return null;
        }

        while (!_endOfFile)
        {
            _start = _end = Headroom;
            TakeChunk();
        }

        return _hash.GetHashAndReset();
    }

    /// <summary>Appends the next chunk (read ahead) to the window; false at the end of the file.</summary>
    private bool TakeChunk()
    {
        _pending ??= ReadAhead();
        var read = _pending.GetAwaiter().GetResult();
        _pending = null;
        if (read == 0)
        {
            _endOfFile = true;
            return false;
        }

        _hash?.AppendData(_spare, Headroom, read);
        _fileOffset += read;
        var leftover = _end - _start;
        if (leftover <= Headroom)
        {
            Buffer.BlockCopy(_buffer, _start, _spare, Headroom - leftover, leftover);
            (_buffer, _spare) = (_spare, _buffer);
            _start = Headroom - leftover;
            _end = Headroom + read;
        }
        else
        {
            var needed = leftover + read;
            if (_buffer.Length - Headroom < needed)
            {
                var grown = new byte[Headroom + Math.Min(_maxLength + _chunkLength, Math.Max(needed, 2 * (_buffer.Length - Headroom)))];
                Buffer.BlockCopy(_buffer, _start, grown, Headroom, leftover);
                _buffer = grown;
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, Headroom, leftover);
            }

            Buffer.BlockCopy(_spare, Headroom, _buffer, Headroom + leftover, read);
            _start = Headroom;
            _end = Headroom + needed;
        }

        _pending = ReadAhead();
        return true;
    }

    private Task<int> ReadAhead()
    {
        var target = _spare;
        var length = _chunkLength;
        var stream = _stream;
        return Task.Run(() => stream.Read(target.AsSpan(Headroom, length)));
    }

    public void Dispose()
    {
        // The read ahead writes into our buffer through the handle: let it finish before either goes.
        try
        {
            _pending?.GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            // The window is being discarded; what a read it no longer needs failed with does not matter.
        }

        _pending = null;
        _hash?.Dispose();

        // Closes the handle as well; its owner's own dispose of it afterwards does nothing.
        _stream.Dispose();
    }
}
