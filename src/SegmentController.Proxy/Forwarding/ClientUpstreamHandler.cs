using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// The handler YARP holds for one cluster. Every upstream socket it opens is known, so a trip can cut
/// them all at once: <see cref="DropPool"/> resets each (linger 0: what the kernel has not sent yet is
/// discarded, and nothing can be written on it afterwards) and replaces the inner
/// <see cref="SocketsHttpHandler"/>, while YARP keeps using this same object. No new socket is opened
/// while the client is suspended.
/// </summary>
/// <remarks>
/// A new socket is registered before the suspension is checked, and a trip publishes the suspension
/// before it resets the registered sockets: either the check sees the trip, or the reset sees the socket.
/// So once <see cref="DropPool"/> has returned on a trip, no byte of the client's leaves for its upstream.
/// </remarks>
internal sealed class ClientUpstreamHandler : HttpMessageHandler
{
    private readonly Func<SocketsHttpHandler> _create;
    private readonly Func<string, bool> _suspended;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new(ReferenceEqualityComparer.Instance);
    private HttpMessageInvoker _current;

    public ClientUpstreamHandler(string client, Func<SocketsHttpHandler> create, Func<string, bool> suspended, string? clusterId = null)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(suspended);
        Client = client;
        ClusterId = clusterId;
        _create = create;
        _suspended = suspended;
        _current = new HttpMessageInvoker(Create(), disposeHandler: true);
    }

    public string Client { get; }

    /// <summary>The cluster whose requests this handler forwards.</summary>
    public string? ClusterId { get; }

    /// <summary>Upstream sockets open now (for tests and status).</summary>
    public int OpenSockets => _sockets.Count;

    /// <summary>Resets every upstream socket of this cluster and closes the pool; later requests open new ones.</summary>
    public void DropPool()
    {
        var old = Interlocked.Exchange(ref _current, new HttpMessageInvoker(Create(), disposeHandler: true));
        foreach (var socket in _sockets.Keys)
        {
            Reset(socket);
        }

        old.Dispose();
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Volatile.Read(ref _current).SendAsync(request, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Volatile.Read(ref _current).Dispose();
        }

        base.Dispose(disposing);
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // Closed already.
        }
    }

    private SocketsHttpHandler Create()
    {
        var handler = _create();
        handler.ConnectCallback = ConnectAsync;
        return handler;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        // Known before the check and before it connects: a cut that comes meanwhile resets it too.
        _sockets.TryAdd(socket, 0);
        try
        {
            if (_suspended(Client))
            {
                throw new HttpRequestException($"client {Client} is suspended: no upstream connection");
            }

            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new TrackedStream(socket, this);
        }
        catch
        {
            Forget(socket);
            socket.Dispose();
            throw;
        }
    }

    private void Forget(Socket socket) => _sockets.TryRemove(socket, out _);

    private sealed class TrackedStream : NetworkStream
    {
        private readonly ClientUpstreamHandler _owner;

        public TrackedStream(Socket socket, ClientUpstreamHandler owner)
            : base(socket, ownsSocket: true)
        {
            _owner = owner;
        }

        protected override void Dispose(bool disposing)
        {
            _owner.Forget(Socket);
            base.Dispose(disposing);
        }
    }
}
