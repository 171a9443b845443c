using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// An HTTP/2 agent that writes its frames by hand over TLS (ALPN h2), so that it can send what no HTTP/2 library
/// sends: header blocks a server must refuse, HPACK that does not decode. Header fields are encoded as HPACK
/// literals without indexing (new names, no Huffman), so each block stands alone.
/// </summary>
internal sealed class Http2Raw : IAsyncDisposable
{
    public const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, GoAway = 0x7;
    public const byte EndStream = 0x1, EndHeaders = 0x4;

    private readonly Socket _socket;
    private readonly SslStream _tls;
    private readonly byte[] _buffer = new byte[65536];
    private int _start;
    private int _end;

    private Http2Raw(Socket socket, SslStream tls)
    {
        _socket = socket;
        _tls = tls;
    }

    /// <summary>True once a read found the connection closed by the server (not merely quiet).</summary>
    public bool Closed { get; private set; }

    /// <summary>A frame the server sent.</summary>
    public readonly record struct Frame(byte Type, byte Flags, int Stream, byte[] Payload)
    {
        /// <summary>The error code of a RST_STREAM or GOAWAY frame.</summary>
        public uint ErrorCode() => Type switch
        {
            RstStream => BinaryPrimitives.ReadUInt32BigEndian(Payload),
            GoAway => BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4)),
            _ => throw new InvalidOperationException($"frame type {Type} carries no error code"),
        };
    }

    /// <summary>
    /// Connects from <paramref name="source"/>, completes TLS with ALPN h2, sends the preface and an empty SETTINGS frame,
    /// and acknowledges the server's.
    /// </summary>
    public static async Task<Http2Raw> ConnectAsync(ProxyHarness harness, string source, string sni)
    {
        var from = IPAddress.Parse(source);
        var socket = new Socket(from.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(from, 0));
            await socket.ConnectAsync(ProxyHarness.ProxyAddressFor(from), harness.ProxyPort);
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = sni,
                CertificateChainPolicy = harness.Pki.ChainPolicy(),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http2],
            });
            if (tls.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
            {
                throw new InvalidOperationException($"ALPN chose {tls.NegotiatedApplicationProtocol}, not h2");
            }

            var raw = new Http2Raw(socket, tls);
            await tls.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
            await raw.WriteFrameAsync(Settings, 0, 0, []);

            // The server's SETTINGS, acknowledged now: an acknowledgement written later could land inside what a test sends.
            await raw.ReadUntilAsync(f => f.Type == Settings && (f.Flags & 0x1) == 0);
            return raw;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A header block of literal fields, in the order given (names as given: a test may write them wrong on purpose).</summary>
    public static byte[] Block(params (string Name, string Value)[] fields)
    {
        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            block.Add(0x00);
            AddString(block, Encoding.ASCII.GetBytes(name));
            AddString(block, Encoding.ASCII.GetBytes(value));
        }

        return [.. block];
    }

    /// <summary>A request's HEADERS frame with END_HEADERS (and END_STREAM when it has no body).</summary>
    public Task HeadersAsync(int stream, byte[] block, bool endStream = true) =>
        WriteFrameAsync(Headers, (byte)(EndHeaders | (endStream ? EndStream : 0)), stream, block);

    public async Task WriteFrameAsync(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream & 0x7fffffff);
        payload.CopyTo(frame, 9);
        await _tls.WriteAsync(frame);
        await _tls.FlushAsync();
    }

    /// <summary>
    /// Frames until one matches <paramref name="until"/> (returned last), the server closes (<see cref="Closed"/>), or
    /// 30 s pass; SETTINGS frames are acknowledged as they come.
    /// </summary>
    public async Task<IReadOnlyList<Frame>> ReadUntilAsync(Func<Frame, bool> until)
    {
        var frames = new List<Frame>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Frame frame;
            try
            {
                if (await ReadFrameAsync(timeout.Token) is not { } read)
                {
                    Closed = true;
                    return frames;
                }

                frame = read;
            }
            catch (OperationCanceledException)
            {
                return frames;
            }
            catch (IOException)
            {
                Closed = true;
                return frames;
            }

            frames.Add(frame);
            if (frame.Type == Settings && (frame.Flags & 0x1) == 0)
            {
                try
                {
                    await WriteFrameAsync(Settings, 0x1, 0, []);
                }
                catch (IOException)
                {
                    // Closed already: the frames read so far are what it said.
                }
            }

            if (until(frame))
            {
                return frames;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _socket.Dispose();
    }

    private async Task<Frame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(9, cancellationToken))
        {
            return null;
        }

        var length = (_buffer[_start] << 16) | (_buffer[_start + 1] << 8) | _buffer[_start + 2];
        if (!await FillAsync(9 + length, cancellationToken))
        {
            return null;
        }

        var frame = new Frame(
            _buffer[_start + 3],
            _buffer[_start + 4],
            BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 5)) & 0x7fffffff,
            _buffer.AsSpan(_start + 9, length).ToArray());
        _start += 9 + length;
        return frame;
    }

    private async Task<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
        _end -= _start;
        _start = 0;
        while (_end < count)
        {
            var read = await _tls.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    private static void AddString(List<byte> block, byte[] value)
    {
        // HPACK integer with a 7-bit prefix, no Huffman.
        if (value.Length < 127)
        {
            block.Add((byte)value.Length);
        }
        else
        {
            block.Add(127);
            var rest = value.Length - 127;
            while (rest >= 128)
            {
                block.Add((byte)((rest & 0x7f) | 0x80));
                rest >>= 7;
            }

            block.Add((byte)rest);
        }

        block.AddRange(value);
    }
}
