using System.Security.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SegmentController.Proxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// Runs inside YARP's pipeline, after a route matched: the route's client (from its metadata, never from
/// Host) must be the source's client, else 403 and a cross-client-request finding. After forwarding it
/// notes the upstream and reports upstreams that offer no TLS 1.2+.
/// </summary>
internal sealed partial class RouteEnforcementMiddleware
{
    private readonly ProxyFindings _findings;
    private readonly ILogger _logger;

    public RouteEnforcementMiddleware(ProxyFindings findings, ILogger<RouteEnforcementMiddleware> logger)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(logger);
        _findings = findings;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
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
            return;
        }

        state.RouteClient = routeClient;
        if (!string.Equals(state.SourceClient, routeClient, StringComparison.Ordinal))
        {
            state.Outcome = ProxyOutcomes.CrossClient;
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            var source = context.Connection.RemoteIpAddress?.ToString() ?? "?";
            var host = context.Request.Host.Value ?? "";
            var path = context.Request.Path.Value ?? "";
            Log.CrossClient(_logger, source, state.SourceClient ?? "?", routeClient, host);
            await _findings.CrossClientAsync(state.SourceClient ?? "?", routeClient, source, context.Request.Method, host, path, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        await next().ConfigureAwait(false);

        state.Upstream = proxy.ProxiedDestination?.Model.Config.Address;
        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is null || error.Error == ForwarderError.None)
        {
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            state.Outcome = ProxyOutcomes.Aborted;
            return;
        }

        state.Outcome = ProxyOutcomes.UpstreamError;
        Log.UpstreamFailed(_logger, routeClient, state.Upstream ?? "?", error.Error.ToString(), error.Exception);
        if (IsProtocolRefusal(error.Exception))
        {
            var upstream = proxy.Cluster.Config.Metadata?.GetValueOrDefault(ProxyMetadata.Upstream) ?? proxy.Cluster.Config.ClusterId;
            await _findings.WeakUpstreamTlsAsync(routeClient, $"{upstream} ({state.Upstream})", Innermost(error.Exception)?.Message ?? "", CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// True when the handshake failed because no protocol version could be agreed — what an upstream
    /// limited to TLS 1.1 or older produces against our 1.2/1.3-only offer — as opposed to a certificate
    /// problem or a network failure.
    /// </summary>
    internal static bool IsProtocolRefusal(Exception? exception)
    {
        var sawAuthentication = false;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            sawAuthentication |= e is AuthenticationException;
            var message = e.Message;
            if (sawAuthentication && (
                message.Contains("protocol version", StringComparison.OrdinalIgnoreCase)
                || message.Contains("unsupported protocol", StringComparison.OrdinalIgnoreCase)
                || message.Contains("no protocols available", StringComparison.OrdinalIgnoreCase)
                || message.Contains("wrong version number", StringComparison.OrdinalIgnoreCase)
                || message.Contains("version too low", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private static Exception? Innermost(Exception? exception)
    {
        while (exception?.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.CrossClientRequest, LogLevel.Warning, "Cross-client request refused: {Source} ({SourceClient}) asked for {Host} of {RouteClient}")]
        public static partial void CrossClient(ILogger logger, string source, string sourceClient, string routeClient, string host);

        [LoggerMessage(ProxyEventIds.UpstreamFailed, LogLevel.Warning, "Upstream {Upstream} of {Client} failed: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, string client, string upstream, string error, Exception? exception);
    }
}
