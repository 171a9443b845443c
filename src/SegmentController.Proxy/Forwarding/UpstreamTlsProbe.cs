using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// Learns the highest TLS version an upstream speaks, from the handshake itself: a ClientHello offering
/// TLS 1.0 to 1.3 (and ciphers of every era), then the version the upstream picks in its ServerHello —
/// a server picks the highest version both sides offer, so that is its own highest. Used after a
/// handshake with our TLS 1.2/1.3-only offer failed, to tell an upstream stuck at TLS 1.1 or older
/// (<c>weak-upstream-tls</c>) from a certificate or network problem. Nothing past the ServerHello is
/// exchanged. Results are kept per host and port for <see cref="CacheFor"/>.
/// </summary>
internal sealed class UpstreamTlsProbe(TimeProvider time)
{
    /// <summary>How long a probe's answer is reused for the same host and port.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);

    private const int MaxCached = 1024;
    private const byte ContentHandshake = 22;
    private const byte ContentAlert = 21;
    private const byte HandshakeServerHello = 2;
    private const byte AlertProtocolVersion = 70;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static readonly ushort[] CipherSuites =
    [
        0x1301, 0x1302, 0x1303, // TLS 1.3
        0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, // ECDHE AEAD (TLS 1.2)
        0xC009, 0xC013, 0xC00A, 0xC014, // ECDHE CBC-SHA (TLS 1.0 and later)
        0x009C, 0x009D, 0x002F, 0x0035, 0x000A, // RSA key exchange, 3DES
    ];

    private static readonly ushort[] SignatureAlgorithms = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201, 0x0203];

    private readonly ConcurrentDictionary<string, (DateTimeOffset At, UpstreamTlsVersion Result)> _cache = new(StringComparer.Ordinal);

    /// <summary>The highest TLS version the upstream at <paramref name="destination"/> agrees to (cached).</summary>
    public async ValueTask<UpstreamTlsVersion> ProbeAsync(Uri destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var key = $"{destination.IdnHost}:{destination.Port}";
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && now - cached.At < CacheFor)
        {
            return cached.Result;
        }

        var result = await ProbeUncachedAsync(destination.IdnHost, destination.Port, cancellationToken).ConfigureAwait(false);
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[key] = (now, result);
        return result;
    }

    private static async Task<UpstreamTlsVersion> ProbeUncachedAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            await socket.SendAsync(ClientHello(IPAddress.TryParse(host, out _) ? null : host), timeout.Token).ConfigureAwait(false);
            return await ReadServerHelloAsync(socket, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return UpstreamTlsVersion.Unknown("no answer to the probe's ClientHello");
        }
        catch (SocketException e)
        {
            return UpstreamTlsVersion.Unknown($"probe could not connect: {e.Message}");
        }
    }

    /// <summary>A ClientHello offering TLS 1.0–1.3 (record version 1.0, supported_versions for 1.3).</summary>
    internal static byte[] ClientHello(string? serverName)
    {
        var extensions = new List<byte>();
        if (serverName is not null)
        {
            var name = System.Text.Encoding.ASCII.GetBytes(serverName);
            var entry = Concat([0], U16(name.Length), name);
            AddExtension(extensions, 0x0000, Concat(U16(entry.Length), entry));
        }

        AddExtension(extensions, 0x000A, Concat(U16(6), U16(0x001D), U16(0x0017), U16(0x0018)));
        AddExtension(extensions, 0x000B, [1, 0]);
        AddExtension(extensions, 0x000D, Concat(U16(SignatureAlgorithms.Length * 2), [.. SignatureAlgorithms.SelectMany(U16)]));
        AddExtension(extensions, 0xFF01, [0]);
        AddExtension(extensions, 0x002B, Concat([8], U16(0x0304), U16(0x0303), U16(0x0302), U16(0x0301)));
        AddExtension(extensions, 0x002D, [1, 1]);

        // Any 32 bytes are a valid X25519 public value; nothing is ever derived from it.
        var share = Concat(U16(0x001D), U16(32), RandomNumberGenerator.GetBytes(32));
        AddExtension(extensions, 0x0033, Concat(U16(share.Length), share));

        var body = Concat(
            U16(0x0303),
            RandomNumberGenerator.GetBytes(32),
            [32],
            RandomNumberGenerator.GetBytes(32),
            U16(CipherSuites.Length * 2),
            [.. CipherSuites.SelectMany(U16)],
            [1, 0],
            U16(extensions.Count),
            [.. extensions]);
        var handshake = Concat([1], U24(body.Length), body);
        return Concat([ContentHandshake], U16(0x0301), U16(handshake.Length), handshake);
    }

    /// <summary>Reads records until the ServerHello (its version) or an alert.</summary>
    internal static async Task<UpstreamTlsVersion> ReadServerHelloAsync(Socket socket, CancellationToken cancellationToken)
    {
        var handshake = new List<byte>();
        var header = new byte[5];
        while (true)
        {
            if (!await ReadExactlyAsync(socket, header, cancellationToken).ConfigureAwait(false))
            {
                return UpstreamTlsVersion.Unknown("the upstream closed the connection without a ServerHello");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3));
            if (length is 0 or > 18_432)
            {
                return UpstreamTlsVersion.Unknown("the upstream's answer is not TLS");
            }

            var fragment = new byte[length];
            if (!await ReadExactlyAsync(socket, fragment, cancellationToken).ConfigureAwait(false))
            {
                return UpstreamTlsVersion.Unknown("the upstream closed the connection in the middle of a record");
            }

            if (header[0] == ContentAlert && fragment.Length >= 2)
            {
                // No version at all in common with TLS 1.0–1.3: what is left is SSL 3.0 or older.
                return fragment[1] == AlertProtocolVersion
                    ? UpstreamTlsVersion.Known(0x0300)
                    : UpstreamTlsVersion.Unknown($"the upstream answered with TLS alert {fragment[1]}");
            }

            if (header[0] != ContentHandshake)
            {
                return UpstreamTlsVersion.Unknown($"the upstream answered with TLS record type {header[0]}");
            }

            handshake.AddRange(fragment);
            if (handshake.Count < 4)
            {
                continue;
            }

            if (handshake[0] != HandshakeServerHello)
            {
                return UpstreamTlsVersion.Unknown($"the upstream answered with handshake message {handshake[0]}");
            }

            var messageLength = (handshake[1] << 16) | (handshake[2] << 8) | handshake[3];
            if (handshake.Count >= 4 + messageLength)
            {
                return ParseServerHello(handshake.GetRange(4, messageLength).ToArray());
            }
        }
    }

    private static UpstreamTlsVersion ParseServerHello(ReadOnlySpan<byte> hello)
    {
        if (hello.Length < 38)
        {
            return UpstreamTlsVersion.Unknown("short ServerHello");
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(hello);
        var position = 2 + 32;
        position += 1 + hello[position];
        position += 2 + 1;
        if (position + 2 > hello.Length)
        {
            return UpstreamTlsVersion.Known(version);
        }

        var extensionsEnd = Math.Min(hello.Length, position + 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[position..]));
        position += 2;
        while (position + 4 <= extensionsEnd)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(hello[position..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(hello[(position + 2)..]);
            position += 4;
            if (type == 0x002B && length == 2 && position + 2 <= extensionsEnd)
            {
                // TLS 1.3 says its version here; the legacy field stays 1.2.
                return UpstreamTlsVersion.Known(BinaryPrimitives.ReadUInt16BigEndian(hello[position..]));
            }

            position += length;
        }

        return UpstreamTlsVersion.Known(version);
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    private static void AddExtension(List<byte> extensions, ushort type, byte[] data)
    {
        extensions.AddRange(U16(type));
        extensions.AddRange(U16(data.Length));
        extensions.AddRange(data);
    }

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    private static byte[] U16(ushort value) => U16((int)value);

    private static byte[] U24(int value) => [(byte)(value >> 16), (byte)(value >> 8), (byte)value];

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
