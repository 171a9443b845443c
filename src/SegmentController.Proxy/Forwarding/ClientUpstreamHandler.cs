using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// The handler YARP holds for one cluster. Every upstream socket it opens is known, so a trip can cut
/// them all at once: <see cref="DropPool"/> resets each (linger 0: what the kernel has not sent yet is
/// discarded, and nothing can be written on it afterwards) and replaces the inner
/// <see cref="SocketsHttpHandler"/>, while YARP keeps using this same object.
/// </summary>
internal sealed class ClientUpstreamHandler : HttpMessageHandler
{
    private readonly Func<SocketsHttpHandler> _create;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new(ReferenceEqualityComparer.Instance);
    private HttpMessageInvoker _current;

    public ClientUpstreamHandler(string client, Func<SocketsHttpHandler> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Client = client;
        _create = create;
        _current = new HttpMessageInvoker(Create(), disposeHandler: true);
    }

    public string Client { get; }

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

        // Known before it connects: a cut that comes while it connects resets it too.
        _sockets.TryAdd(socket, 0);
        try
        {
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
