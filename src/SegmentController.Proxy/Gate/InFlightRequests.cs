using Microsoft.AspNetCore.Http;
using SegmentController.Core.Suspension;

namespace SegmentController.Proxy.Gate;

/// <summary>Requests in flight per client; a trip aborts them (and with them any upgraded WebSocket).</summary>
internal sealed class InFlightRequests : ISuspensionEnforcer
{
    private readonly ClientTracker<HttpContext> _requests = new();

    public SuspensionStage Stage => SuspensionStage.InFlight;

    public int Count(string client) => _requests.Count(client);

    public void Add(string client, HttpContext context) => _requests.Add(client, context);

    public void Remove(string client, HttpContext context) => _requests.Remove(client, context);

    public void Enforce(string scope)
    {
        foreach (var context in _requests.Snapshot(scope))
        {
            try
            {
                context.Abort();
            }
            catch (ObjectDisposedException)
            {
                // The request finished between the snapshot and the abort: nothing left to cut.
            }
        }
    }
}
