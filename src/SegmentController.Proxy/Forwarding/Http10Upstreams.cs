using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// Destinations that answer in HTTP/1.0 without <c>Connection: keep-alive</c>, which close the connection
/// after each response (RFC 9112, section 9.3). The runtime's connection pool keeps such a connection all
/// the same, and a request sent on it before the close arrives fails ("the response ended prematurely"),
/// a 502 for the agent. Once a destination has answered so, every request to it says
/// <c>Connection: close</c> and goes through a pool that keeps no connection
/// (<see cref="ClientUpstreamHandler"/>), and the cluster's pool is replaced, so the connections it kept
/// are never used again. A destination that answers in HTTP/1.1 or later (or in HTTP/1.0 with keep-alive)
/// again is taken off the list, no sooner than <see cref="MinimumListing"/> after it was put on it: an
/// upstream whose answers alternate cannot make the proxy replace a pool, or log, more often than that.
/// </summary>
/// <remarks>
/// Requests already waiting for one of the old pool's connections when the first answer comes back can
/// still be given the answered one, which the upstream closes unread: those with no body and a safe method
/// are sent once more on a connection of their own (<see cref="ClientUpstreamHandler"/>); the others fail
/// (a 502, recorded as <c>upstream-error</c>).
/// </remarks>
internal sealed partial class Http10Upstreams
{
    /// <summary>How long a destination stays on the list at least, whatever it answers meanwhile.</summary>
    public static readonly TimeSpan MinimumListing = TimeSpan.FromMinutes(5);

    // Each destination listed, with when it was (the time provider's timestamp).
    private readonly ConcurrentDictionary<string, long> _closing = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private int _count;

    public Http10Upstreams(ILogger? logger = null, TimeProvider? time = null)
    {
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Whether any destination is on the list now.</summary>
    public bool Any => Volatile.Read(ref _count) != 0;

    /// <summary>Whether requests to <paramref name="destination"/> (its configured address) close their connection.</summary>
    public bool Closes(string destination) => Any && _closing.ContainsKey(destination);

    /// <summary>
    /// Raised with the cluster's id when one of its destinations is found to close each connection: the
    /// connections its pool keeps now are of no further use, and requests sent before the finding may still
    /// be waiting for one.
    /// </summary>
    public event Action<string>? Learned;

    /// <summary>Learns from one response of <paramref name="destination"/> (of <paramref name="clusterId"/>) whether its connections outlive a response.</summary>
    public void Observe(string destination, string clusterId, HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (ClosesAfter(response))
        {
            if (_closing.TryAdd(destination, _time.GetTimestamp()))
            {
                Interlocked.Increment(ref _count);
                Log.OneRequestPerConnection(_logger, destination);
                Learned?.Invoke(clusterId);
            }
        }
        else if (Any
            && _closing.TryGetValue(destination, out var listed)
            && _time.GetElapsedTime(listed) >= MinimumListing
            && _closing.TryRemove(new KeyValuePair<string, long>(destination, listed)))
        {
            Interlocked.Decrement(ref _count);
            Log.ConnectionsKept(_logger, destination, response.Version);
        }
    }

    /// <summary>The request and response transforms that apply this list.</summary>
    public void AddTo(Yarp.ReverseProxy.Transforms.Builder.TransformBuilderContext transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        transforms.RequestTransforms.Add(new CloseRequestTransform(this));
        transforms.ResponseTransforms.Add(new ObserveResponseTransform(this));
    }

    /// <summary>Whether the upstream that gave <paramref name="response"/> closes the connection after it: HTTP/1.0 without keep-alive.</summary>
    public static bool ClosesAfter(HttpResponseMessage response) =>
        response.Version == System.Net.HttpVersion.Version10 && !KeepsAlive(response);

    private static bool KeepsAlive(HttpResponseMessage response)
    {
        foreach (var token in response.Headers.Connection)
        {
            if (string.Equals(token, "keep-alive", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class CloseRequestTransform(Http10Upstreams upstreams) : RequestTransform
    {
        public override ValueTask ApplyAsync(RequestTransformContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            if (upstreams.Closes(context.DestinationPrefix))
            {
                context.ProxyRequest.Headers.ConnectionClose = true;
            }

            return default;
        }
    }

    private sealed class ObserveResponseTransform(Http10Upstreams upstreams) : ResponseTransform
    {
        public override ValueTask ApplyAsync(ResponseTransformContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            // Only an HTTP/1.0 answer puts a destination on the list, and only while one is on it can
            // another answer take one off: otherwise nothing to look up.
            if (context.ProxyResponse is { } response
                && (response.Version == System.Net.HttpVersion.Version10 || upstreams.Any)
                && context.HttpContext.Features.Get<IReverseProxyFeature>() is { ProxiedDestination: { } destination, Cluster: { } cluster })
            {
                upstreams.Observe(destination.Model.Config.Address, cluster.Config.ClusterId, response);
            }

            return default;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.UpstreamHttp10, LogLevel.Warning, "Upstream {Destination} answers in HTTP/1.0 and closes each connection after its response: every request to it now opens a connection of its own")]
        public static partial void OneRequestPerConnection(ILogger logger, string destination);

        [LoggerMessage(ProxyEventIds.UpstreamHttp10, LogLevel.Information, "Upstream {Destination} answers in HTTP/{Version} and keeps its connections: they are reused again")]
        public static partial void ConnectionsKept(ILogger logger, string destination, Version version);
    }
}
