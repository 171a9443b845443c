namespace SegmentController.Storage.Export;

/// <summary>Reads UTF-8 lines as bytes, refusing any longer than a limit (hostile files stay bounded).</summary>
internal sealed class BoundedLineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private readonly BufferedStream _stream = new(stream, 1 << 16);
    private byte[] _line = new byte[4096];

    /// <summary>The next line without its terminator; null at the end.</summary>
    /// <exception cref="InvalidDataException">The line exceeds the limit.</exception>
    public ReadOnlyMemory<byte>? ReadLine()
    {
        var length = 0;
        int b;
        while ((b = _stream.ReadByte()) >= 0)
        {
            if (b == '\n')
            {
                return TrimCarriageReturn(length);
            }

            if (length == maxLineBytes)
            {
                throw new InvalidDataException($"line longer than {maxLineBytes} bytes");
            }

            if (length == _line.Length)
            {
                Array.Resize(ref _line, Math.Min(_line.Length * 2, maxLineBytes));
            }

            _line[length++] = (byte)b;
        }

        // Not a conditional expression: null would convert through byte[] to an empty memory, never ending the file.
        if (length == 0)
        {
            return null;
        }

        return TrimCarriageReturn(length);
    }

    public void Dispose() => _stream.Dispose();

    private ReadOnlyMemory<byte> TrimCarriageReturn(int length) =>
        _line.AsMemory(0, length > 0 && _line[length - 1] == '\r' ? length - 1 : length);
}
