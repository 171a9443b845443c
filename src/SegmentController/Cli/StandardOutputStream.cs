using System.Text;

namespace SegmentController.Cli;

/// <summary>
/// Bytes a command writes to standard output as it produces them, so that output of any size (an export of
/// years of evidence) passes through a small buffer and is never held whole. When the command's writer is the
/// process's console the bytes go to the standard output stream itself; any other writer (a test's) gets them
/// decoded as UTF-8. A write that fails is standard output's failure (<see cref="StandardOutputException"/>),
/// told apart from a failure to produce what is written.
/// </summary>
internal sealed class StandardOutputStream : WriteOnlyStream
{
    private const int BufferBytes = 64 * 1024;

    private readonly Stream? _bytes;
    private readonly TextWriter? _text;
    private readonly Decoder? _decoder;
    private readonly char[]? _chars;

    private StandardOutputStream(Stream bytes) => _bytes = bytes;

    private StandardOutputStream(TextWriter text)
    {
        _text = text;
        _decoder = new UTF8Encoding(false, false).GetDecoder();
        _chars = new char[BufferBytes];
    }

    /// <summary>How many bytes have been handed on (to the stream's buffer, or to the writer).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>The stream for <paramref name="output"/>, the command's standard output writer.</summary>
    public static StandardOutputStream For(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!ReferenceEquals(output, Console.Out))
        {
            return new StandardOutputStream(output);
        }

        // Whatever the writer holds goes first; from here on the bytes bypass it.
        output.Flush();
        return new StandardOutputStream(new BufferedStream(OperatingSystem.IsLinux() ? new StandardOutputDescriptor() : Console.OpenStandardOutput(), BufferBytes));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        BytesWritten += buffer.Length;
        if (_bytes is not null)
        {
            try
            {
                _bytes.Write(buffer);
            }
            catch (IOException e)
            {
                throw new StandardOutputException(e);
            }

            return;
        }

        while (!buffer.IsEmpty)
        {
            _decoder!.Convert(buffer, _chars, flush: false, out var used, out var produced, out _);
            _text!.Write(_chars.AsSpan(0, produced));
            buffer = buffer[used..];
        }
    }

    public override void Flush()
    {
        try
        {
            _bytes?.Flush();
            _text?.Flush();
        }
        catch (IOException e)
        {
            throw new StandardOutputException(e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _bytes is not null)
        {
            try
            {
                // Leaves the process's standard output open; only a write that failed before can fail here.
                _bytes.Dispose();
            }
            catch (IOException)
            {
            }
        }

        base.Dispose(disposing);
    }
}
