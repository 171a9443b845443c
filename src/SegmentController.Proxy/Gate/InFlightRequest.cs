using Microsoft.AspNetCore.Http;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// One request on its way through the proxy, with its own cancellation: the proxy puts
/// <see cref="Token"/> in place of <see cref="HttpContext.RequestAborted"/>, so forwarding (YARP passes
/// that token to the upstream request) stops the moment <see cref="Cut"/> returns — Kestrel signals its
/// own abort token later, on the thread pool, which would leave a trip's acknowledgement racing a request
/// still being sent.
/// </summary>
internal sealed class InFlightRequest : IDisposable
{
    private readonly CancellationTokenSource _cut;

    public InFlightRequest(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        _cut = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        Token = _cut.Token;
    }

    public HttpContext Context { get; }

    /// <summary>Cancelled when the request is cut or the agent goes away.</summary>
    public CancellationToken Token { get; }

    /// <summary>True once <see cref="Cut"/> ran (a trip, or the store stopped taking records).</summary>
    public bool WasCut { get; private set; }

    /// <summary>Stops forwarding now (synchronously) and aborts the agent's side.</summary>
    public void Cut()
    {
        WasCut = true;
        try
        {
            _cut.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request finished between the snapshot and the cut: nothing left to cut.
            return;
        }
        catch (AggregateException)
        {
            // A callback of the forwarder failed while stopping; the request is cancelled regardless.
        }

        try
        {
            Context.Abort();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _cut.Dispose();
}
