using System.Net.Security;
using System.Security.Authentication;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>A real TLS ClientHello, as .NET's own TLS client writes it, taken before any answer could be read.</summary>
internal static class TlsClientHello
{
    /// <summary>The bytes an <see cref="SslStream"/> client sends first for <paramref name="serverName"/> (TLS 1.2 and 1.3 offered).</summary>
    public static async Task<byte[]> CaptureAsync(string serverName)
    {
        var capture = new CaptureStream();
        await using (var tls = new SslStream(capture, leaveInnerStreamOpen: true))
        {
            // The capture answers the hello with the end of the stream: the handshake fails there, by design.
            await Assert.ThrowsAnyAsync<Exception>(() => tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }));
        }

        var hello = capture.Written.ToArray();
        // A handshake record (22) whose first message is a ClientHello (1).
        Assert.True(hello.Length > 9 && hello[0] == 0x16 && hello[5] == 0x01, $"not a TLS ClientHello: {Convert.ToHexString(hello.AsSpan(0, Math.Min(hello.Length, 16)))}");
        return hello;
    }

    /// <summary>Keeps what is written; reads see the end of the stream.</summary>
    private sealed class CaptureStream : Stream
    {
        public MemoryStream Written { get; } = new();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => 0;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(0);

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Written.Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Written.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
