using SegmentController.Core.Suspension;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// Requests in flight per client; a trip cuts them (and with them any upgraded WebSocket): forwarding
/// is cancelled synchronously, then the agent's side is aborted.
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
        foreach (var request in _requests.Snapshot(scope))
        {
            request.Cut();
        }
    }
}
