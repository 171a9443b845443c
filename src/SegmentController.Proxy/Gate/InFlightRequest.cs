using Microsoft.AspNetCore.Http;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// One request on its way through the proxy, with its own cancellation (this source): the proxy puts
/// <see cref="CancellationTokenSource.Token"/> in place of <see cref="HttpContext.RequestAborted"/>, so
/// forwarding (YARP passes that token to the upstream request) sees the cut as soon as <see cref="Cut"/>
/// returns — Kestrel would signal its own abort token only later, on the thread pool. The agent going away
/// (Kestrel's token) cancels it too. The forwarder's cancellation callbacks (closing upstream connections and
/// streams) then run on the thread pool rather than inside the trip: what keeps anything from leaving for the
/// upstream is the upstream-pool stage, which resets the client's sockets and refuses it new ones
/// (<see cref="Forwarding.ClientUpstreamHandler"/>).
/// </summary>
/// <remarks>
/// The request is its own cancellation source, where a source linked to Kestrel's token would be a second
/// object per request (the proxy's every request has one).
/// </remarks>
internal sealed class InFlightRequest : CancellationTokenSource
{
    private readonly CancellationTokenRegistration _agentGone;

    private const int Running = 0;
    private const int Aborting = 1;
    private const int Finished = 2;

    // Aborting while the agent's side is aborted, Finished from the request's end: the server recycles the
    // context as soon as the request ends, and an abort made on a recycled context throws (on the thread
    // pool, where a trip queued it, that ends the process). A state rather than a lock object: one
    // allocation fewer per request, and an abort is short (it only signals the server), so a wait spins.
    private int _state;

    public InFlightRequest(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        // Not a cut: the agent went away (WasCut stays false).
        _agentGone = context.RequestAborted.UnsafeRegister(static request => ((CancellationTokenSource)request!).Cancel(), this);
    }

    public HttpContext Context { get; }

    /// <summary>The agent's address, as the request's client was resolved from it.</summary>
    public System.Net.IPAddress? Source { get; init; }

    /// <summary>The cluster of the route the request matched; null when none matched.</summary>
    public string? ClusterId { get; init; }

    /// <summary>True once <see cref="Cut"/> ran (a trip, or the store stopped taking records).</summary>
    public bool WasCut { get; private set; }

    /// <summary>Cancels forwarding: the token is cancelled when this returns (its callbacks run on the thread pool).</summary>
    public void Cut()
    {
        WasCut = true;
        try
        {
            _ = ObserveAsync(CancelAsync());
        }
        catch (ObjectDisposedException)
        {
            // The request finished between the snapshot and the cut: nothing left to cut.
        }
    }

    /// <summary>
    /// Not for a request in flight: a cut is <see cref="Cut"/>, which marks it cut (<see cref="WasCut"/>), so that its
    /// record and outcome say it was cut rather than that the agent went away.
    /// </summary>
    [Obsolete("Cut a request in flight with Cut(), which records the cut.", error: true)]
    public new void Cancel() => throw new NotSupportedException("a request in flight is cut with Cut(), which records the cut");

    /// <summary>Aborts the agent's side: its connection (or HTTP/2 stream) is closed, unless the request has finished.</summary>
    public void AbortAgent()
    {
        // Queued by a trip, this may run after the request ended, when the connection's context may be
        // serving its next request already, or be ending while it runs: the request's end waits for an abort
        // under way, and no abort starts once it has ended. An abort only signals the server (its own
        // callbacks run on the thread pool), so the request's end is held for no longer than that.
        // Another abort under way is waited for: a request ending after its cut relies on the abort having
        // landed when this returns.
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _state, Aborting, Running) is var seen && seen != Running)
        {
            if (seen == Finished)
            {
                return;
            }

            spin.SpinOnce();
        }

        try
        {
            Context.Abort();
        }
        catch (ObjectDisposedException)
        {
            // The connection went away meanwhile: nothing left to abort.
        }
        finally
        {
            Volatile.Write(ref _state, Running);
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
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            var spin = default(SpinWait);
            while (Interlocked.CompareExchange(ref _state, Finished, Running) == Aborting)
            {
                spin.SpinOnce();
            }

            // Waits for the agent's going away being signalled meanwhile, so that it never meets a disposed source.
            _agentGone.Dispose();
        }

        base.Dispose(disposing);
    }
}
