using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using SegmentController.Core.Audits;

namespace SegmentController.Audits;

/// <summary>
/// Judges a TLS listener by talking to it: it must refuse a TLS 1.0 and a TLS 1.1 handshake and complete a
/// TLS 1.2 one presenting the certificate it is configured with. The old versions are offered with a
/// hand-built ClientHello, so the verdict is the server's and not this host's OpenSSL configuration (which
/// may refuse to offer them at all).
/// </summary>
internal static class TlsListenerProbe
{
    /// <summary>Time allowed for each handshake.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Probes <paramref name="endpoint"/> and returns the check named <paramref name="name"/> (of evidence
    /// <paramref name="source"/>); <paramref name="expectedCertificateSha256"/> is the SHA-256 of the DER
    /// certificate the listener must present.
    /// </summary>
    public static async Task<AuditCheck> CheckAsync(string source, string name, IPEndPoint endpoint, byte[] expectedCertificateSha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(expectedCertificateSha256);
        var problems = new List<string>();
        var unanswered = new List<string>();
        foreach (var (label, version) in new[] { ("TLS 1.0", (ushort)0x0301), ("TLS 1.1", (ushort)0x0302) })
        {
            switch (await LegacyAsync(endpoint, version, cancellationToken).ConfigureAwait(false))
            {
                case LegacyAnswer.Accepted accepted:
                    problems.Add($"accepted a {label} handshake (answered with version {accepted.Version >> 8}.{(accepted.Version & 0xff) - 1})");
                    break;
                case LegacyAnswer.Silent silent:
                    unanswered.Add($"{label}: {silent.Why}");
                    break;
            }
        }

        string modern;
        try
        {
            modern = await ModernAsync(endpoint, expectedCertificateSha256, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (e is SocketException or OperationCanceledException || (e is IOException && problems.Count == 0 && unanswered.Count == 2))
            {
                return new AuditCheck(source, name, [], AuditOutcome.Indeterminate, $"{endpoint} did not answer: {e.Message}");
            }

            problems.Add($"refused a TLS 1.2 handshake ({e.Message})");
            modern = "";
        }

        if (problems.Count > 0)
        {
            return new AuditCheck(source, name, [], AuditOutcome.Fail, $"{endpoint} {string.Join("; ", problems)}");
        }

        return unanswered.Count > 0
            ? new AuditCheck(source, name, [], AuditOutcome.Indeterminate, $"{endpoint} gave no verdict on old versions ({string.Join("; ", unanswered)})")
            : new AuditCheck(source, name, [], AuditOutcome.Pass, $"{endpoint} refused TLS 1.0 and 1.1 handshakes and completed {modern}");
    }

    /// <summary>The endpoint to dial for a listener address such as <c>https://0.0.0.0:8443</c> (wildcards become loopback).</summary>
    public static IPEndPoint? Dialable(string address)
    {
        if (!Uri.TryCreate(address.Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || !IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip))
        {
            return null;
        }

        if (ip.Equals(IPAddress.Any))
        {
            ip = IPAddress.Loopback;
        }
        else if (ip.Equals(IPAddress.IPv6Any))
        {
            ip = IPAddress.IPv6Loopback;
        }

        return new IPEndPoint(ip, uri.Port);
    }

    private static async Task<string> ModernAsync(IPEndPoint endpoint, byte[] expectedCertificateSha256, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = endpoint.Address.ToString(),
                EnabledSslProtocols = SslProtocols.Tls12,
                // The listener is dialled by address: what identifies it is the certificate it is configured with.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && SHA256.HashData(certificate.GetRawCertData()).AsSpan().SequenceEqual(expectedCertificateSha256),
            },
            timeout.Token).ConfigureAwait(false);
        return tls.SslProtocol == SslProtocols.Tls12 ? $"TLS 1.2 ({tls.NegotiatedCipherSuite})" : $"{tls.SslProtocol}";
    }

    private static async Task<LegacyAnswer> LegacyAsync(IPEndPoint endpoint, ushort version, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            await socket.SendAsync(ClientHello(version), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var header = new byte[5];
            if (!await ReadExactlyAsync(socket, header, timeout.Token).ConfigureAwait(false))
            {
                return new LegacyAnswer.Refused("closed the connection");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3));
            var body = new byte[Math.Min((int)length, 16 * 1024)];
            if (!await ReadExactlyAsync(socket, body, timeout.Token).ConfigureAwait(false))
            {
                return new LegacyAnswer.Refused("closed the connection mid-record");
            }

            return header[0] switch
            {
                // A ServerHello naming a version below TLS 1.2: the server agreed to speak it.
                0x16 when body.Length >= 6 && body[0] == 0x02 && BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(4)) is var chosen && chosen < 0x0303
                    => new LegacyAnswer.Accepted(chosen),
                0x15 => new LegacyAnswer.Refused(body.Length >= 2 ? $"alert {body[1]}" : "alert"),
                _ => new LegacyAnswer.Refused($"answered record type {header[0]}"),
            };
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return new LegacyAnswer.Refused("reset the connection");
        }
        catch (SocketException e)
        {
            return new LegacyAnswer.Silent(e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new LegacyAnswer.Silent($"no answer in {Timeout.TotalSeconds:0} s");
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    /// <summary>A ClientHello offering only <paramref name="version"/>, with ECDHE (ECDSA, RSA) and RSA CBC suites.</summary>
    private static byte[] ClientHello(ushort version)
    {
        ReadOnlySpan<byte> suites = [0xC0, 0x0A, 0xC0, 0x09, 0xC0, 0x14, 0xC0, 0x13, 0x00, 0x35, 0x00, 0x2F, 0x00, 0xFF];
        ReadOnlySpan<byte> extensions =
        [
            0x00, 0x0A, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1D, 0x00, 0x17, 0x00, 0x18, // supported_groups: x25519, P-256, P-384
            0x00, 0x0B, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
        ];
        var body = new List<byte> { (byte)(version >> 8), (byte)version };
        body.AddRange(RandomNumberGenerator.GetBytes(32));
        body.Add(0);
        body.Add(0);
        body.Add((byte)suites.Length);
        body.AddRange(suites.ToArray());
        body.Add(1);
        body.Add(0);
        body.Add((byte)(extensions.Length >> 8));
        body.Add((byte)extensions.Length);
        body.AddRange(extensions.ToArray());
        var handshake = new List<byte> { 0x01, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        var record = new List<byte> { 0x16, 0x03, 0x01, (byte)(handshake.Count >> 8), (byte)handshake.Count };
        record.AddRange(handshake);
        return [.. record];
    }

    private abstract record LegacyAnswer
    {
        public sealed record Accepted(ushort Version) : LegacyAnswer;

        public sealed record Refused(string How) : LegacyAnswer;

        public sealed record Silent(string Why) : LegacyAnswer;
    }
}
