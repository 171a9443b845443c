using System.Security.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using SegmentController.Proxy.Configuration;
using SegmentController.Proxy.Forwarding;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// Runs inside YARP's pipeline, after a route matched: the route's client (from its metadata, never from
/// Host) must be the source's client, else 403 and a cross-client-request finding. After forwarding it
/// notes the upstream and, when the TLS handshake failed, probes the upstream's highest TLS version
/// (<see cref="UpstreamTlsProbe"/>) and reports one below 1.2 (<c>weak-upstream-tls</c>).
/// </summary>
internal sealed partial class RouteEnforcementMiddleware
{
    private readonly ProxyFindings _findings;
    private readonly UpstreamTlsProbe _probe;
    private readonly ILogger _logger;

    public RouteEnforcementMiddleware(ProxyFindings findings, UpstreamTlsProbe probe, ILogger<RouteEnforcementMiddleware> logger)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(logger);
        _findings = findings;
        _probe = probe;
        _logger = logger;
    }

    /// <summary>
    /// Refuses the request or passes it on to the forwarder. What forwarding came to is read afterwards by the
    /// outer gate (<see cref="AfterForwardingAsync"/>), so that a request forwarded has no async frame of this
    /// stage's own.
    /// </summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var state = context.Features.Get<ProxyRequestState>();
        var proxy = context.Features.Get<IReverseProxyFeature>();
        string? routeClient = null;
        proxy?.Route.Config.Metadata?.TryGetValue(ProxyMetadata.Client, out routeClient);
        if (state is null || proxy is null || routeClient is null)
        {
            // Not reached through the outer gate, or a route without an owner: refuse rather than guess.
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        }

        state.RouteClient = routeClient;
        if (!string.Equals(state.SourceClient, routeClient, StringComparison.Ordinal))
        {
            return CrossClientAsync(context, state, routeClient);
        }

        // YARP matched the route in its own table, which a reload replaces just after the snapshot: a request
        // routed a moment before may carry a route of the replaced policy, whose cluster still sends where the
        // policy this request is decided with may have given another client. It is forwarded only if that
        // policy has the route, for this client, with those destinations.
        if (!state.Snapshot.ServesRoute(proxy.Route.Config, proxy.AllDestinations, routeClient, out var otherClient))
        {
            Log.RouteNotInForce(_logger, context.Connection.RemoteIpAddress?.ToString() ?? "?", routeClient, AgentHost.Of(context.Request), proxy.Route.Config.RouteId, otherClient ?? "no other client");
            if (otherClient is null)
            {
                // As a request admitted under the replaced policy is when the reload judges it again.
                state.Outcome = ProxyOutcomes.Aborted;
                context.Abort();
                return Task.CompletedTask;
            }

            state.RouteClient = otherClient;
            state.Outcome = ProxyOutcomes.CrossClient;
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        }

        // A tunnel (CONNECT, other than HTTP/2's extended CONNECT of a WebSocket) is no route the proxy serves: refused
        // here, where it would otherwise fail as the upstream's error.
        if (HttpMethods.IsConnect(context.Request.Method) && context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect != true)
        {
            state.Outcome = ProxyOutcomes.NoRoute;
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        state.Forwarding = proxy;
        return next(context);
    }

    /// <summary>
    /// Once the pipeline returned, for a request this stage passed on: notes the upstream and, when forwarding
    /// failed, why (a cut, or an upstream error; a failed TLS handshake has the upstream probed).
    /// </summary>
    public ValueTask AfterForwardingAsync(HttpContext context, ProxyRequestState state)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(state);
        if (state.Forwarding is not { } proxy)
        {
            return ValueTask.CompletedTask;
        }

        state.Upstream = proxy.ProxiedDestination?.Model.Config.Address;
        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is null || error.Error == ForwarderError.None)
        {
            return ValueTask.CompletedTask;
        }

        return ForwardingFailedAsync(context, state, proxy, error);
    }

    private async Task CrossClientAsync(HttpContext context, ProxyRequestState state, string routeClient)
    {
        state.Outcome = ProxyOutcomes.CrossClient;
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        var source = context.Connection.RemoteIpAddress?.ToString() ?? "?";
        var host = AgentHost.Of(context.Request);
        var path = context.Request.Path.Value ?? "";
        Log.CrossClient(_logger, source, state.SourceClient ?? "?", routeClient, host);
        await _findings.CrossClientAsync(state.SourceClient ?? "?", routeClient, source, context.Request.Method, host, path, CancellationToken.None).ConfigureAwait(false);
    }

    private async ValueTask ForwardingFailedAsync(HttpContext context, ProxyRequestState state, IReverseProxyFeature proxy, IForwarderErrorFeature error)
    {
        var routeClient = state.RouteClient ?? "?";
        if (context.RequestAborted.IsCancellationRequested || AgentSide(error.Error))
        {
            // Cut (a trip, a reload), or the agent's side failed: its connection went away or was closed, perhaps
            // before the cut's own signal landed. Either way not the upstream's doing.
            state.Outcome = ProxyOutcomes.Aborted;
            return;
        }

        state.Outcome = ProxyOutcomes.UpstreamError;
        Log.UpstreamFailed(_logger, routeClient, state.Upstream ?? "?", error.Error.ToString(), error.Exception);
        if (HandshakeFailed(error.Exception) && state.Upstream is { } address && Uri.TryCreate(address, UriKind.Absolute, out var destination))
        {
            // Why did our TLS 1.2/1.3 handshake fail? Ask the upstream itself which version it speaks.
            var version = await _probe.ProbeAsync(destination, CancellationToken.None).ConfigureAwait(false);
            if (version.IsWeak)
            {
                var upstream = proxy.Cluster.Config.Metadata?.GetValueOrDefault(ProxyMetadata.Upstream) ?? proxy.Cluster.Config.ClusterId;
                await _findings.WeakUpstreamTlsAsync(
                    routeClient,
                    $"{upstream} ({state.Upstream})",
                    $"offered TLS 1.0 to 1.3, the upstream chose {version.Name}; the proxy accepts TLS 1.2 and 1.3 only",
                    CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                Log.HandshakeFailedNotWeak(_logger, routeClient, state.Upstream, version.Name, version.Problem ?? "");
            }
        }
    }

    /// <summary>Forwarding failed on the agent's side of the proxy (reading its body, writing to it, its upgraded stream).</summary>
    internal static bool AgentSide(ForwarderError error) =>
        error is ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseClient;

    /// <summary>True when forwarding failed in the TLS handshake (as opposed to connecting, or later).</summary>
    internal static bool HandshakeFailed(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.CrossClientRequest, LogLevel.Warning, "Cross-client request refused: {Source} ({SourceClient}) asked for {Host} of {RouteClient}")]
        public static partial void CrossClient(ILogger logger, string source, string sourceClient, string routeClient, string host);

        [LoggerMessage(ProxyEventIds.RouteNotInForce, LogLevel.Warning, "Request refused: {Source} ({Client}) asked for {Host} by route {Route} of a replaced policy, which the policy in force does not serve so; it gives the route's upstream to {OtherClient}")]
        public static partial void RouteNotInForce(ILogger logger, string source, string client, string host, string route, string otherClient);

        [LoggerMessage(ProxyEventIds.UpstreamFailed, LogLevel.Warning, "Upstream {Upstream} of {Client} failed: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, string client, string upstream, string error, Exception? exception);

        [LoggerMessage(ProxyEventIds.UpstreamProbe, LogLevel.Warning, "TLS handshake with {Upstream} of {Client} failed, but the upstream speaks {Version} {Problem}: a certificate or configuration problem, not a weak upstream")]
        public static partial void HandshakeFailedNotWeak(ILogger logger, string client, string upstream, string version, string problem);
    }
}
