using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// An HTTPS upstream on loopback that speaks HTTP/1.0 as legacy servers do (Python's <c>http.server</c>
/// among them): one request a connection, answered with a Content-Length and no <c>Connection</c> header,
/// then the connection is closed without reading anything more. Keeps each request's head.
/// </summary>
internal sealed class Http10Server : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private Http10Server(X509Certificate2 certificate)
    {
        _certificate = certificate;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Address => new($"https://127.0.0.1:{Port}/");

    /// <summary>The head of every request answered, in the order they came.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Connections accepted that completed the handshake.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private int _connections;

    public static Http10Server Start(X509Certificate2 certificate) => new(certificate);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        try
        {
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await tls.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions { ServerCertificate = _certificate, EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13 },
                _stop.Token);
            Interlocked.Increment(ref _connections);
            var head = await ReadHeadAsync(tls);
            if (head is null)
            {
                return;
            }

            Requests.Enqueue(head);
            var body = Encoding.ASCII.GetBytes("{\"system\":\"legacy\"}\n");
            var response = Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nServer: legacy\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
            await tls.WriteAsync(response.Concat(body).ToArray(), _stop.Token);
            await tls.FlushAsync(_stop.Token);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer went away; nothing to answer.
        }
    }

    private static async Task<string?> ReadHeadAsync(Stream stream)
    {
        var head = new List<byte>();
        var buffer = new byte[1];
        while (head.Count < 16384)
        {
            if (await stream.ReadAsync(buffer) == 0)
            {
                return null;
            }

            head.Add(buffer[0]);
            if (head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n')
            {
                return Encoding.ASCII.GetString(head.ToArray());
            }
        }

        return null;
    }
}
