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
/// <para>
/// With <see cref="FirstContactRace"/> it stages, every time, what happens by chance on first contact under
/// load: the first request is answered only once a second connection has been accepted (a request waiting
/// for a connection of its own); that connection's handshake waits until the first connection is closed;
/// and the first connection, once answered, is held open, unread, until bytes of another request arrive on
/// it (the waiting request, given the answered connection), then reset without an answer.
/// </para>
/// </summary>
internal sealed class Http10Server : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private readonly FirstContactRace? _race;
    private readonly bool _mute;
    private readonly TaskCompletionSource _secondAccepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _nextArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Http10Server(X509Certificate2 certificate, FirstContactRace? race, bool mute)
    {
        _certificate = certificate;
        _race = race;
        _mute = mute;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Address => new($"https://127.0.0.1:{Port}/");

    /// <summary>The head of every request read, in the order they came.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Connections accepted that completed the handshake.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private int _connections;

    private int _accepted;

    /// <summary>With <see cref="FirstContactRace"/>: completed once bytes of another request arrived on the answered connection.</summary>
    public Task NextRequestArrived => _nextArrived.Task;

    /// <summary>Starts the server.</summary>
    /// <param name="certificate">Its certificate.</param>
    /// <param name="race">Stages the first-contact race (see the class); null: every connection served at once.</param>
    /// <param name="mute">Every request is read and its connection reset with no answer, as by a server that fails.</param>
    public static Http10Server Start(X509Certificate2 certificate, FirstContactRace? race = null, bool mute = false) => new(certificate, race, mute);

    /// <summary>How the first-contact race is staged.</summary>
    internal sealed class FirstContactRace
    {
        /// <summary>Awaited, once another request has arrived on the answered connection, before that connection is reset.</summary>
        public Task Release { get; init; } = Task.CompletedTask;
    }

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
        var accepted = Interlocked.Increment(ref _accepted);
        try
        {
            if (accepted == 2)
            {
                _secondAccepted.TrySetResult();
            }

            if (accepted > 1 && _race is not null)
            {
                await _firstClosed.Task.WaitAsync(_stop.Token);
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

            var race = accepted == 1 ? _race : null;
            if (race is not null)
            {
                await _secondAccepted.Task.WaitAsync(_stop.Token);
            }

            var body = Encoding.ASCII.GetBytes("{\"system\":\"legacy\"}\n");
            var response = Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nServer: legacy\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
            await tls.WriteAsync(response.Concat(body).ToArray(), _stop.Token);
            await tls.FlushAsync(_stop.Token);
            if (race is not null)
            {
                // Open, and nothing read: the next request's bytes are only seen to arrive; then a reset, no answer.
                await socket.ReceiveAsync(new byte[1], SocketFlags.Peek, _stop.Token);
                _nextArrived.TrySetResult();
                await race.Release.WaitAsync(_stop.Token);
                socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer went away; nothing to answer.
        }
        finally
        {
            if (accepted == 1)
            {
                // Closed before any later connection's handshake is let through.
                socket.Dispose();
                _firstClosed.TrySetResult();
            }
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
