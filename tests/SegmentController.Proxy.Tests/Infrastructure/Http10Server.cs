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
/// Optionally it holds the connection open (unread) a while after answering before it closes it, and
/// makes every connection after the first wait before its handshake: together they let a request that
/// waits for a new connection be given the answered one, which the server then closes unanswered.
/// </summary>
internal sealed class Http10Server : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private readonly TimeSpan _closeAfter;
    private readonly TimeSpan _laterHandshakesAfter;
    private readonly TaskCompletionSource _secondAccepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _firstAnswerAfterSecondConnection;
    private readonly bool _mute;

    private Http10Server(X509Certificate2 certificate, TimeSpan closeAfter, TimeSpan laterHandshakesAfter, bool firstAnswerAfterSecondConnection, bool mute)
    {
        _mute = mute;
        _firstAnswerAfterSecondConnection = firstAnswerAfterSecondConnection;
        _certificate = certificate;
        _closeAfter = closeAfter;
        _laterHandshakesAfter = laterHandshakesAfter;
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

    /// <summary>Connections accepted (handshake or not).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    private int _accepted;

    /// <summary>Starts the server.</summary>
    /// <param name="certificate">Its certificate.</param>
    /// <param name="closeAfter">How long an answered connection stays open, unread, before it is closed.</param>
    /// <param name="laterHandshakesAfter">How long every connection after the first waits before its handshake.</param>
    /// <param name="firstAnswerAfterSecondConnection">The first request is answered only once a second connection has been accepted.</param>
    /// <param name="mute">Every request is read and its connection reset with no answer, as by a server that fails.</param>
    public static Http10Server Start(X509Certificate2 certificate, TimeSpan closeAfter = default, TimeSpan laterHandshakesAfter = default, bool firstAnswerAfterSecondConnection = false, bool mute = false) =>
        new(certificate, closeAfter, laterHandshakesAfter, firstAnswerAfterSecondConnection, mute);

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
            var accepted = Interlocked.Increment(ref _accepted);
            if (accepted == 2)
            {
                _secondAccepted.TrySetResult();
            }

            if (accepted > 1 && _laterHandshakesAfter > TimeSpan.Zero)
            {
                await Task.Delay(_laterHandshakesAfter, _stop.Token);
            }

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
            if (_mute)
            {
                // A reset, as from a server that fails: a close (FIN) before any answer is one the runtime sends again by itself.
                socket.LingerState = new LingerOption(true, 0);
                return;
            }

            if (accepted == 1 && _firstAnswerAfterSecondConnection)
            {
                await _secondAccepted.Task.WaitAsync(_stop.Token);
            }

            var body = Encoding.ASCII.GetBytes("{\"system\":\"legacy\"}\n");
            var response = Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nServer: legacy\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
            await tls.WriteAsync(response.Concat(body).ToArray(), _stop.Token);
            await tls.FlushAsync(_stop.Token);
            if (_closeAfter > TimeSpan.Zero)
            {
                // Open, and nothing read: a request sent on it meanwhile is never answered.
                await Task.Delay(_closeAfter, _stop.Token);
            }
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
