namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// The handler YARP holds for one cluster. Its connection pool can be dropped at any moment (a trip):
/// the inner <see cref="SocketsHttpHandler"/> is replaced and the old one disposed, closing its pooled
/// connections, while YARP keeps using this same object.
/// </summary>
internal sealed class ClientUpstreamHandler : HttpMessageHandler
{
    private readonly Func<SocketsHttpHandler> _create;
    private HttpMessageInvoker _current;

    public ClientUpstreamHandler(string client, Func<SocketsHttpHandler> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Client = client;
        _create = create;
        _current = new HttpMessageInvoker(create(), disposeHandler: true);
    }

    public string Client { get; }

    /// <summary>Closes every pooled connection; later requests open new ones.</summary>
    public void DropPool()
    {
        var old = Interlocked.Exchange(ref _current, new HttpMessageInvoker(_create(), disposeHandler: true));
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
}
