using Microsoft.AspNetCore.Http;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// One request on its way through the proxy, with its own cancellation: the proxy puts
/// <see cref="Token"/> in place of <see cref="HttpContext.RequestAborted"/>, so forwarding (YARP passes
/// that token to the upstream request) sees the cut as soon as <see cref="Cancel"/> returns — Kestrel would
/// signal its own abort token only later, on the thread pool. The forwarder's cancellation callbacks (closing
/// upstream connections and streams) then run on the thread pool rather than inside the trip: what keeps
/// anything from leaving for the upstream is the upstream-pool stage, which resets the client's sockets
/// and refuses it new ones (<see cref="Forwarding.ClientUpstreamHandler"/>).
/// </summary>
internal sealed class InFlightRequest : IDisposable
{
    private readonly CancellationTokenSource _cut;

    // Held while the agent's side is aborted, and by the request's end: the server recycles the context as
    // soon as the request ends, and an abort made on a recycled context throws (on the thread pool, where a
    // trip queued it, that ends the process).
    private readonly Lock _gate = new();
    private bool _finished;

    public InFlightRequest(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        _cut = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        Token = _cut.Token;
    }

    public HttpContext Context { get; }

    /// <summary>The agent's address, as the request's client was resolved from it.</summary>
    public System.Net.IPAddress? Source { get; init; }

    /// <summary>The cluster of the route the request matched; null when none matched.</summary>
    public string? ClusterId { get; init; }

    /// <summary>Cancelled when the request is cut or the agent goes away.</summary>
    public CancellationToken Token { get; }

    /// <summary>True once <see cref="Cancel"/> ran (a trip, or the store stopped taking records).</summary>
    public bool WasCut { get; private set; }

    /// <summary>Cancels forwarding: the token is cancelled when this returns (its callbacks run on the thread pool).</summary>
    public void Cancel()
    {
        WasCut = true;
        try
        {
            _ = ObserveAsync(_cut.CancelAsync());
        }
        catch (ObjectDisposedException)
        {
            // The request finished between the snapshot and the cut: nothing left to cut.
        }
    }

    /// <summary>Aborts the agent's side: its connection (or HTTP/2 stream) is closed, unless the request has finished.</summary>
    public void AbortAgent()
    {
        // Queued by a trip, this may run after the request ended, when the connection's context may be
        // serving its next request already, or be ending while it runs: the request's end waits for an abort
        // under way, and no abort starts once it has ended. An abort only signals the server (its own
        // callbacks run on the thread pool), so the request's end is held for no longer than that.
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            try
            {
                Context.Abort();
            }
            catch (ObjectDisposedException)
            {
                // The connection went away meanwhile: nothing left to abort.
            }
        }
    }

    private static async Task ObserveAsync(Task cancellation)
    {
        try
        {
            await cancellation.ConfigureAwait(false);
        }
        catch (AggregateException)
        {
            // A callback of the forwarder failed while stopping; the request is cancelled regardless.
        }
    }

    /// <summary>The request ended: waits for an abort of the agent's side under way, and lets none start after.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _finished = true;
        }

        _cut.Dispose();
    }
}
