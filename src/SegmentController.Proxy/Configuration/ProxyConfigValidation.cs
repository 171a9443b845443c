using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace SegmentController.Proxy.Configuration;

/// <summary>
/// YARP's own validation of routes and clusters (<see cref="IConfigValidator"/>), run on a policy's
/// configuration before any of it is put in force. YARP validates again when it is told of a new
/// configuration, and what fails there it refuses while the proxy's address map and trust would already
/// be the new ones: a route pattern it cannot parse must be found here, where the policy can still be refused whole.
/// </summary>
internal sealed class ProxyConfigValidation : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly IConfigValidator _validator;

    public ProxyConfigValidation()
    {
        // The same registrations as the proxy's server (ProxyServer.AddReverseProxyServices), so the
        // validator knows the same transforms and policies.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRoutingCore();
        ProxyServer.AddReverseProxyServices(services);
        _services = services.BuildServiceProvider();
        _validator = _services.GetRequiredService<IConfigValidator>();
    }

    /// <summary>Every reason YARP would refuse these routes and clusters; empty when it would take them.</summary>
    public IReadOnlyList<string> Validate(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(clusters);
        var errors = new List<string>();
        foreach (var route in routes)
        {
            foreach (var e in Wait(_validator.ValidateRouteAsync(route)))
            {
                errors.Add($"route {route.RouteId} ({route.Match.Path}): {e.Message}");
            }
        }

        foreach (var cluster in clusters)
        {
            foreach (var e in Wait(_validator.ValidateClusterAsync(cluster)))
            {
                errors.Add($"cluster {cluster.ClusterId}: {e.Message}");
            }
        }

        return errors;
    }

    public void Dispose() => _services.Dispose();

    // The validator completes synchronously unless a route names an authorization, CORS or rate-limiter
    // policy, which the proxy's routes never do.
    private static IList<Exception> Wait(ValueTask<IList<Exception>> pending) =>
        pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
}
