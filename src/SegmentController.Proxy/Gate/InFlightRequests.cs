using SegmentController.Core.Suspension;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// Requests in flight per client; a trip cuts them (and with them any upgraded WebSocket): forwarding's
/// token is cancelled before the stage returns, and the agents' sides are aborted on the thread pool,
/// queued and not waited for (an abort closes the socket: see <see cref="ConnectionGate.Enforce"/> for
/// why a trip does not do that itself).
/// </summary>
internal sealed class InFlightRequests : ISuspensionEnforcer
{
    private readonly ClientTracker<InFlightRequest> _requests = new();

    public SuspensionStage Stage => SuspensionStage.InFlight;

    public int Count(string client) => _requests.Count(client);

    public void Add(string client, InFlightRequest request) => _requests.Add(client, request);

    public void Remove(string client, InFlightRequest request) => _requests.Remove(client, request);

    public void Enforce(string scope)
    {
        var requests = _requests.Snapshot(scope);
        foreach (var request in requests)
        {
            request.Cancel();
        }

        if (requests.Length > 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static requests => AbortAgents(requests), requests, preferLocal: false);
        }
    }

    private static void AbortAgents(InFlightRequest[] requests)
    {
        foreach (var request in requests)
        {
            request.AbortAgent();
        }
    }
}
