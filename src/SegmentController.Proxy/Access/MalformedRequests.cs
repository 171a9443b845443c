using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;
using SegmentController.Proxy.Enforcement;
using SegmentController.Proxy.Gate;

namespace SegmentController.Proxy.Access;

/// <summary>
/// Requests the HTTP server refuses on its own, before any of the proxy's middleware runs: a request line or headers
/// it cannot parse or that pass its limits, an absolute URI whose authority is not the Host header, framing it will
/// not take (a bad <c>Transfer-Encoding</c>, two <c>Content-Length</c>s), headers that never finish arriving. Nothing
/// of them is forwarded; each still gets an access record (outcome <c>malformed</c>, with the status the agent was
/// answered and what of the request had been read), counts in the proxy's metrics, and from a source in no client's
/// segment makes an <c>unknown-source</c> finding, as any other request from there does. Over HTTP/2 the server
/// refuses such requests with a stream reset or by closing the connection, heard by <see cref="Http2Refusals"/> and
/// recorded by <see cref="Http2Refused"/>.
/// </summary>
/// <remarks>
/// Kestrel reports each such request on the host's <see cref="DiagnosticListener"/> (<see cref="EventName"/>), on the
/// connection's own thread, with the connection's features. A request the proxy's middleware had already taken (one
/// whose body turned out malformed while it was forwarded) carries its <see cref="ProxyRequestState"/> and is on
/// record already: it is passed over here. The record is handed to the store outside the window of records the
/// proxy forwards against (<see cref="AccessRecords.WriteUnboundedAsync"/>): nothing waits for it, and the server
/// closes the connection after such a request, so an agent makes at most one per connection it opens.
/// </remarks>
internal sealed partial class MalformedRequests : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    /// <summary>The event Kestrel writes for a request it refused itself.</summary>
    public const string EventName = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    // Marks a connection already asked to close for a refused HTTP/2 request.
    private static readonly object ClosingItem = new();

    private readonly ClientDirectory _directory;
    private readonly ConnectionGate _gate;
    private readonly AccessRecords _records;
    private readonly ProxyFindings _findings;
    private readonly IProxyMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IDisposable? _subscription;

    public MalformedRequests(ClientDirectory directory, ConnectionGate gate, AccessRecords records, ProxyFindings findings, IProxyMetrics metrics, TimeProvider time, ILogger<MalformedRequests> logger)
    {
        _directory = directory;
        _gate = gate;
        _records = records;
        _findings = findings;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts hearing the server's refusals on <paramref name="listener"/> (the one the server was built with).</summary>
    public void Subscribe(DiagnosticListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        _subscription ??= listener.Subscribe(this, static name => string.Equals(name, EventName, StringComparison.Ordinal));
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (!string.Equals(value.Key, EventName, StringComparison.Ordinal) || value.Value is not IFeatureCollection features || features.Get<ProxyRequestState>() is not null)
        {
            return;
        }

        // On the server's own thread, inside its handling of the connection: nothing here may throw into it.
        AccessRecord record;
        try
        {
            record = Describe(features);
        }
        catch (Exception e)
        {
            Log.NotRecorded(_logger, features.Get<IHttpConnectionFeature>()?.RemoteIpAddress?.ToString() ?? "?", e);
            return;
        }

        _ = RecordAsync(record);
    }

    /// <summary>
    /// The server refused an HTTP/2 request on connection <paramref name="connectionId"/> (<see cref="Http2Refusals"/>):
    /// a stream it reset, or (<paramref name="streamOnly"/> false) the whole connection, closed for a protocol error.
    /// It is recorded as one malformed request from the connection's source, with no method, host, path or status
    /// (the server keeps none of what it refused, and answered with a reset, not a response). A connection that had
    /// only a stream refused is then closed, as the server closes an HTTP/1.1 connection after a malformed request:
    /// gracefully (GOAWAY; its requests under way finish), and at once if it has another refused before that is done.
    /// So an agent makes at most two such records per connection it opens. Called on the server's connection loop;
    /// never throws.
    /// </summary>
    public void Http2Refused(string connectionId, bool streamOnly)
    {
        AccessRecord record;
        ConnectionContext? connection;
        try
        {
            connection = _gate.Find(connectionId);
            record = Refused(
                (connection?.RemoteEndPoint as System.Net.IPEndPoint)?.Address,
                connection?.Features.Get<ITlsConnectionFeature>()?.ClientCertificate,
                method: "",
                host: "",
                path: "",
                status: null);
        }
        catch (Exception e)
        {
            NotRecorded(connectionId, e);
            return;
        }

        _ = RecordAsync(record);
        if (streamOnly && connection is not null)
        {
            Close(connection);
        }
    }

    /// <summary>Says that what the server refused on <paramref name="source"/> (an address or a connection id) could not be recorded.</summary>
    internal void NotRecorded(string source, Exception exception) => Log.NotRecorded(_logger, source, exception);

    /// <summary>
    /// Asks the server to close the connection after its requests under way (the reset it is sending goes first), or,
    /// asked once already, aborts it. The server reports some refusals on the connection's loop and others on the
    /// refused stream's own thread, so the mark is set under a lock.
    /// </summary>
    private static void Close(ConnectionContext connection)
    {
        try
        {
            bool again;
            var items = connection.Items;
            lock (items)
            {
                again = !items.TryAdd(ClosingItem, true);
            }

            if (!again && connection.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime)
            {
                lifetime.RequestClose();
            }
            else
            {
                connection.Abort(new ConnectionAbortedException("malformed HTTP/2 request"));
            }
        }
        catch (ObjectDisposedException)
        {
            // Ended meanwhile.
        }
    }

    public void OnError(Exception error)
    {
    }

    public void OnCompleted()
    {
    }

    public void Dispose() => Interlocked.Exchange(ref _subscription, null)?.Dispose();

    /// <summary>What the server had read of the request when it refused it, as the record that says so.</summary>
    private AccessRecord Describe(IFeatureCollection features)
    {
        var request = features.Get<IHttpRequestFeature>();
        var error = features.Get<IBadRequestExceptionFeature>()?.Error;
        return Refused(
            features.Get<IHttpConnectionFeature>()?.RemoteIpAddress,
            features.Get<ITlsConnectionFeature>()?.ClientCertificate,
            request?.Method ?? "",
            request?.Headers.Host.ToString() ?? "",
            request is null ? "" : request.PathBase + request.Path,
            (error as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest);
    }

    /// <summary>The record of a request the server refused, from <paramref name="address"/>: nothing forwarded, duration 0.</summary>
    private AccessRecord Refused(System.Net.IPAddress? address, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate, string method, string host, string path, int? status)
    {
        var snapshot = _directory.Current;
        var identity = snapshot.Certificates.IdentityOf(certificate);
        return new AccessRecord
        {
            Time = _time.GetUtcNow(),
            Client = snapshot.Addresses.Resolve(address),
            Source = address?.ToString() ?? "?",
            Identity = identity?.Subject,
            IdentitySha256 = identity?.Fingerprint,
            IdentityClient = identity?.Client,
            Method = method,
            Host = host,
            Path = path,
            Status = status,
            BytesIn = 0,
            BytesOut = 0,
            DurationSeconds = 0,
            Outcome = ProxyOutcomes.Malformed,
        };
    }

    private async Task RecordAsync(AccessRecord record)
    {
        try
        {
            _metrics.RequestCompleted(record.Client ?? ProxyOutcomes.UnknownClient, ProxyOutcomes.Malformed, TimeSpan.Zero);

            // The record is in the store's queue before the finding is published: a sink that fails loses neither.
            var written = _records.WriteUnboundedAsync(record.Client is null ? null : ClientKey.Of(record.Client), JsonSerializer.SerializeToUtf8Bytes(record, AccessJsonContext.Default.AccessRecord));
            try
            {
                if (record.Client is null)
                {
                    await _findings.UnknownSourceAsync(record.Source, record.Method, record.Host, record.Path, CancellationToken.None).ConfigureAwait(false);
                }
            }
            finally
            {
                await written.ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Nobody awaits this: what failed is said here (a store that cannot write has stopped forwarding already).
            Log.NotRecorded(_logger, record.Source, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.MalformedNotRecorded, LogLevel.Error, "A request from {Source} that the server refused as malformed could not be recorded")]
        public static partial void NotRecorded(ILogger logger, string source, Exception exception);
    }
}
