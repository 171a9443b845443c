using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// The handler YARP holds for one cluster. Every upstream socket it opens is known, so a trip can cut
/// them all at once: <see cref="DropPool"/> resets each (<see cref="Reset"/>: what the kernel has not sent
/// yet is discarded, and nothing can be written on it afterwards) and replaces the inner
/// <see cref="SocketsHttpHandler"/>, while YARP keeps using this same object. No new socket is opened
/// while the client is suspended.
/// </summary>
/// <remarks>
/// A new socket is registered before the suspension is checked, and a trip publishes the suspension
/// before it resets the registered sockets: either the check sees the trip, or the reset sees the socket.
/// So once <see cref="DropPool"/> has returned on a trip, no byte of the client's leaves for its upstream.
/// A socket the reset found before it had connected (the reset dissolves nothing there) is marked cut
/// first, and its connection, once made, is closed before anything is written on it.
/// <para>
/// A request to an upstream that closes each connection after its response (<see cref="Http10Upstreams"/>)
/// goes through a second pool that keeps no connection: the runtime's pool would keep that connection and
/// send a later request on it after the upstream had closed it. A request already waiting for a connection
/// of the cluster's pool when the first such answer came back can be given that connection; if it carries
/// no body and its method is safe, it is sent once more, on a connection of its own (SendOnFirstContactAsync).
/// </para>
/// </remarks>
internal sealed class ClientUpstreamHandler : HttpMessageHandler
{
    private readonly Func<SocketsHttpHandler> _create;
    private readonly Func<string, bool> _suspended;
    private readonly Http10Upstreams? _http10;
    private const byte Open = 0;
    private const byte Cut = 1;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new(ReferenceEqualityComparer.Instance);
    private HttpMessageInvoker _current;
    private HttpMessageInvoker? _unpooled;

    // Until the cluster's first answer that keeps its connection: requests sent meanwhile may be sent again
    // (SendOnFirstContactAsync), if the pool they took was retired (not dropped) while they were under way.
    private bool _firstContact = true;
    private int _retirements;
    private int _drops;

    public ClientUpstreamHandler(string client, Func<SocketsHttpHandler> create, Func<string, bool> suspended, string? clusterId = null, Http10Upstreams? http10 = null)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(suspended);
        Client = client;
        ClusterId = clusterId;
        _create = create;
        _suspended = suspended;
        _http10 = http10;
        _current = new HttpMessageInvoker(Create(pooled: true), disposeHandler: true);
    }

    public string Client { get; }

    /// <summary>The cluster whose requests this handler forwards.</summary>
    public string? ClusterId { get; }

    /// <summary>Upstream sockets open now (for tests and status).</summary>
    public int OpenSockets => _sockets.Count;

    /// <summary>Resets every upstream socket of this cluster and closes the pool; later requests open new ones.</summary>
    public void DropPool()
    {
        var old = Interlocked.Exchange(ref _current, new HttpMessageInvoker(Create(pooled: true), disposeHandler: true));
        Interlocked.Increment(ref _drops);
        var unpooled = Interlocked.Exchange(ref _unpooled, null);
        foreach (var socket in _sockets.Keys)
        {
            // Marked before the reset: a connection made after this is closed unused (ConnectAsync).
            _sockets.TryUpdate(socket, Cut, Open);
            Reset(socket, CloseLater);
        }

        // Disposed on the thread pool, not here: disposing a pool closes its idle connections' sockets, and
        // each close waits for every other thread's call on that socket (Reset). Nothing can leave on them
        // meanwhile: each is dissolved already, and on a trip a connection the old pool would open is refused
        // (ConnectAsync).
        ThreadPool.UnsafeQueueUserWorkItem(static pools => DisposeAll(pools), (old, unpooled), preferLocal: false);
    }

    private static void DisposeAll((HttpMessageInvoker Pooled, HttpMessageInvoker? Unpooled) pools)
    {
        pools.Pooled.Dispose();
        pools.Unpooled?.Dispose();
    }

    /// <summary>
    /// Puts a new pool in place of the one in force without cutting anything, so later requests never see
    /// the connections the old one keeps: for connections the upstream closes once it has answered
    /// (<see cref="Http10Upstreams.Learned"/>). The old pool is disposed a little later (a request that took
    /// it a moment before would fail on a disposed pool); requests under way on it finish, and it keeps none
    /// of their connections. A trip meanwhile resets its sockets as it does the others'.
    /// </summary>
    public void RetirePool()
    {
        var old = Interlocked.Exchange(ref _current, new HttpMessageInvoker(Create(pooled: true), disposeHandler: true));
        Interlocked.Increment(ref _retirements);
        _ = Task.Delay(RetiredPoolGrace).ContinueWith(_ => old.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>How long a retired pool stays usable for requests that took it just before it was retired.</summary>
    internal static readonly TimeSpan RetiredPoolGrace = TimeSpan.FromSeconds(10);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The request transform asks such an upstream to close (Connection: close); the runtime's pool
        // ignores that in a request, so it goes where no connection is kept.
        if (_http10 is { Any: true } && request.Headers.ConnectionClose == true)
        {
            return Unpooled().SendAsync(request, cancellationToken);
        }

        if (_http10 is not null && Volatile.Read(ref _firstContact) && MaySendAgain(request))
        {
            // Read before the pool: a pool taken just before it was retired or dropped is seen so after.
            var retirements = Volatile.Read(ref _retirements);
            var drops = Volatile.Read(ref _drops);
            return SendOnFirstContactAsync(Volatile.Read(ref _current), retirements, drops, request, cancellationToken);
        }

        return Volatile.Read(ref _current).SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// A request sent before the cluster's first answer that keeps its connection. If an answer meanwhile
    /// shows an upstream that closes each connection (the pool is retired), the request may have been given
    /// the answered connection, which the upstream closes unread. A request that can be sent again without
    /// harm (no body, a safe method, no upgrade) and whose connection so ended or was reset is sent once more,
    /// on a connection of its own — unless its pool was dropped meanwhile (a trip, or a reload that moved the
    /// cluster), or the client is suspended. Requests after that answer go as usual, with no wrapper.
    /// </summary>
    private async Task<HttpResponseMessage> SendOnFirstContactAsync(HttpMessageInvoker invoker, int retirements, int drops, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!Http10Upstreams.ClosesAfter(response))
            {
                Volatile.Write(ref _firstContact, false);
            }

            return response;
        }
        catch (HttpRequestException e) when (e.InnerException is IOException
            && Volatile.Read(ref _retirements) != retirements
            && Volatile.Read(ref _drops) == drops
            && !cancellationToken.IsCancellationRequested
            && !_suspended(Client))
        {
            // Checked again where the new connection is made: a trip meanwhile refuses it before anything is sent.
            request.Headers.ConnectionClose = true;
            return await Unpooled().SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    // Sent again only what the agent sent no body with, by a method that changes nothing (RFC 9110, 9.2.1),
    // and not an upgrade (a WebSocket's opening request).
    private static bool MaySendAgain(HttpRequestMessage request) =>
        request.Content is null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options || request.Method == HttpMethod.Trace)
        && !request.Headers.NonValidated.Contains("Upgrade");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Volatile.Read(ref _current).Dispose();
            Volatile.Read(ref _unpooled)?.Dispose();
        }

        base.Dispose(disposing);
    }

    private HttpMessageInvoker Unpooled()
    {
        if (Volatile.Read(ref _unpooled) is { } existing)
        {
            return existing;
        }

        var made = new HttpMessageInvoker(Create(pooled: false), disposeHandler: true);
        if (Interlocked.CompareExchange(ref _unpooled, made, null) is { } raced)
        {
            made.Dispose();
            return raced;
        }

        return made;
    }

    /// <summary>
    /// Cuts the connection at once: the kernel sends a reset and discards what it had not sent, and nothing
    /// more can be sent on the socket. Closing the descriptor is left to the thread pool: the runtime's close
    /// waits, spinning and then sleeping, until every other thread's call on the socket has returned, and a
    /// trip's thread (at real-time priority) would wait for a thread it keeps off its core. Where the
    /// connection cannot be dissolved that way, the socket is closed here (linger 0), as before.
    /// </summary>
    /// <param name="socket">The socket cut.</param>
    /// <param name="closeLater">Closes the socket once the connection is dissolved; null: on the thread pool.</param>
    internal static void Reset(Socket socket, Action<Socket>? closeLater = null)
    {
        if (Disconnect(socket))
        {
            if (closeLater is null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => Close(s), socket, preferLocal: false);
            }
            else
            {
                closeLater(socket);
            }

            return;
        }

        Close(socket);
    }

    /// <summary>
    /// How this handler's reset sockets are closed once dissolved (null: on the thread pool). Tests set it to
    /// hold the close back, so that what the dissolving alone guarantees is seen.
    /// </summary>
    internal Action<Socket>? CloseLater { get; init; }

    private static bool Disconnect(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var added = false;
        try
        {
            var handle = socket.SafeHandle;
            handle.DangerousAddRef(ref added);
            try
            {
                return NativeMethods.Connect((int)handle.DangerousGetHandle(), NativeMethods.UnspecifiedAddress, NativeMethods.UnspecifiedAddress.Length) == 0;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed already: nothing can be sent on it.
            return true;
        }
    }

    /// <summary>Closes a socket (linger 0), whether or not it is closed already.</summary>
    internal static void Close(Socket socket)
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

    private SocketsHttpHandler Create(bool pooled)
    {
        var handler = _create();
        handler.ConnectCallback = ConnectAsync;
        if (!pooled)
        {
            // A lifetime of zero: the runtime does not keep the connection once its response is read.
            handler.PooledConnectionLifetime = TimeSpan.Zero;
        }

        return handler;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        // Known before the check and before it connects: a cut that comes meanwhile resets it too.
        _sockets.TryAdd(socket, Open);
        try
        {
            if (_suspended(Client))
            {
                throw new HttpRequestException($"client {Client} is suspended: no upstream connection");
            }

            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);

            // A reset that came before the connection was made dissolved nothing; its mark is seen here. One
            // that comes after this check finds the connection made, and dissolves it.
            if (!_sockets.TryGetValue(socket, out var mark) || mark == Cut)
            {
                throw new HttpRequestException($"the upstream connections of cluster {ClusterId ?? Client} were cut while this one was being made");
            }

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
