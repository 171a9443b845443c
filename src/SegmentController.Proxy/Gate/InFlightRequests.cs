using SegmentController.Core.Suspension;
using SegmentController.Proxy.Configuration;

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
            request.Cut();
        }

        if (requests.Length > 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static requests => AbortAgents(requests), requests, preferLocal: false);
        }
    }

    /// <summary>
    /// A reload replaced <paramref name="replaced"/> with <paramref name="current"/>: a request whose source
    /// now belongs to another client (or none), or whose cluster is gone, belongs to another client or
    /// sends elsewhere, is cut as a trip cuts it — a WebSocket opened under the old policy does not go on
    /// as the wrong client's traffic, nor escape the trip of the client its agent belongs to now.
    /// </summary>
    public void Reattribute(ProxySnapshot replaced, ProxySnapshot current)
    {
        ArgumentNullException.ThrowIfNull(replaced);
        ArgumentNullException.ThrowIfNull(current);
        List<InFlightRequest>? cut = null;
        foreach (var (client, request) in _requests.All())
        {
            if (!current.StillAdmits(replaced, client, request.Source, request.ClusterId))
            {
                request.Cut();
                (cut ??= []).Add(request);
            }
        }

        if (cut is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static requests => AbortAgents(requests), cut.ToArray(), preferLocal: false);
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
