using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Configuration;
using SegmentController.Proxy.Enforcement;
using SegmentController.Proxy.Forwarding;
using SegmentController.Proxy.Gate;

namespace SegmentController.Proxy;

/// <summary>
/// The proxy's long-lived parts that the suspension engine enforces through: the connection gate, the
/// in-flight requests and the upstream pools. They exist before the engine (it takes them as
/// <see cref="ISuspensionEnforcer"/>s) and before the listeners start.
/// </summary>
internal sealed class ProxyComponents : IDisposable
{
    public ProxyComponents(IPolicyProvider policy, Func<ISuspensionView> suspensions, IProxyMetrics metrics, TimeProvider? time = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(suspensions);
        ArgumentNullException.ThrowIfNull(metrics);
        time ??= TimeProvider.System;
        Snapshots = new ProxySnapshots(policy, time, logger);
        Directory = new ClientDirectory(Snapshots);
        Refusals = new GateRefusals(metrics, time);
        var view = new LazyView(suspensions);
        Gate = new ConnectionGate(Directory, view, Refusals);
        InFlight = new InFlightRequests();
        Http10 = new Http10Upstreams(logger, time);
        Pools = new UpstreamPools(Snapshots, view, Http10);

        // What was admitted under the replaced policy is judged again under the new one: connections and
        // requests whose agent, or whose upstream, the reload gave another client are cut. Requests first: a
        // connection the gate closes (on the thread pool) ends its request as the agent's error, and the request
        // is to be on record as cut by the reload before that can happen.
        Snapshots.Applied += (replaced, current) =>
        {
            InFlight.Reattribute(replaced, current);
            Gate.Reattribute(current);
            Pools.Reattribute(replaced, current);
        };
    }

    /// <summary>What the proxy takes from the policy in force (routes, address and certificate maps, upstream trust), swapped whole.</summary>
    public ProxySnapshots Snapshots { get; }

    public ClientDirectory Directory { get; }

    public ConnectionGate Gate { get; }

    /// <summary>Connections the gate dropped, counted and gathered for their access records.</summary>
    public GateRefusals Refusals { get; }

    public InFlightRequests InFlight { get; }

    public UpstreamPools Pools { get; }

    /// <summary>Upstreams that close each connection after one response, as learnt from their answers.</summary>
    public Http10Upstreams Http10 { get; }

    /// <summary>
    /// Awaited by each request once its route is matched and before the proxy decides on it, when set
    /// before the server is built: the point where a reload can overtake a request already routed.
    /// </summary>
    internal Func<Microsoft.AspNetCore.Http.HttpContext, Task>? AfterRouting { get; set; }

    /// <summary>The enforcers to hand to the suspension engine.</summary>
    public IEnumerable<ISuspensionEnforcer> Enforcers => [Gate, InFlight, Pools];

    public void Dispose() => Snapshots.Dispose();

    // The engine needs the enforcers and the gate needs the engine: resolve the engine on first use.
    private sealed class LazyView(Func<ISuspensionView> resolve) : ISuspensionView
    {
        private readonly Lazy<ISuspensionView> _view = new(resolve);

        public SuspensionState Current => _view.Value.Current;
    }
}
