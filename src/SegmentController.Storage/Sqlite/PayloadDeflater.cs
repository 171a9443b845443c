using System.IO.Compression;

namespace SegmentController.Storage.Sqlite;

/// <summary>The writer's deflater: one output buffer, kept for the next row.</summary>
internal sealed class PayloadDeflater : IDisposable
{
    // A buffer grown past this by one large row is not kept for the next.
    private const int KeptBytes = 4 << 20;

    private MemoryStream _output = new();

    /// <summary>
    /// The stored form of a row's payload: deflated when <paramref name="deflatable"/> and worth it (at least
    /// <see cref="PayloadEncoding.MinBytes"/>, at most <see cref="PayloadEncoding.MaxInflatedBytes"/>, and smaller
    /// deflated), else the payload as written. Valid until the next call.
    /// </summary>
    public ReadOnlySpan<byte> Store(ReadOnlySpan<byte> payload, bool deflatable, out string? encoding)
    {
        encoding = null;
        if (!deflatable || payload.Length < PayloadEncoding.MinBytes || payload.Length > PayloadEncoding.MaxInflatedBytes)
        {
            return payload;
        }

        if (_output.Capacity > KeptBytes)
        {
            _output.Dispose();
            _output = new MemoryStream();
        }

        _output.SetLength(0);
        using (var deflate = new DeflateStream(_output, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(payload);
        }

        if (_output.Length >= payload.Length)
        {
            return payload;
        }

        encoding = PayloadEncoding.Deflate;
        return _output.GetBuffer().AsSpan(0, (int)_output.Length);
    }

    public void Dispose() => _output.Dispose();
}
