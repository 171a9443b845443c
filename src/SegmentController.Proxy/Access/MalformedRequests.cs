using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;
using SegmentController.Proxy.Enforcement;

namespace SegmentController.Proxy.Access;

/// <summary>
/// Requests the HTTP server refuses on its own, before any of the proxy's middleware runs: a request line or headers
/// it cannot parse or that pass its limits, an absolute URI whose authority is not the Host header, framing it will
/// not take (a bad <c>Transfer-Encoding</c>, two <c>Content-Length</c>s), headers that never finish arriving. Nothing
/// of them is forwarded; each still gets an access record (outcome <c>malformed</c>, with the status the agent was
/// answered and what of the request had been read), counts in the proxy's metrics, and from a source in no client's
/// segment makes an <c>unknown-source</c> finding, as any other request from there does.
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

    private readonly ClientDirectory _directory;
    private readonly AccessRecords _records;
    private readonly ProxyFindings _findings;
    private readonly IProxyMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IDisposable? _subscription;

    public MalformedRequests(ClientDirectory directory, AccessRecords records, ProxyFindings findings, IProxyMetrics metrics, TimeProvider time, ILogger<MalformedRequests> logger)
    {
        _directory = directory;
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
        var address = features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        var snapshot = _directory.Current;
        var identity = snapshot.Certificates.IdentityOf(features.Get<ITlsConnectionFeature>()?.ClientCertificate);
        var request = features.Get<IHttpRequestFeature>();
        var error = features.Get<IBadRequestExceptionFeature>()?.Error;
        return new AccessRecord
        {
            Time = _time.GetUtcNow(),
            Client = snapshot.Addresses.Resolve(address),
            Source = address?.ToString() ?? "?",
            Identity = identity?.Subject,
            IdentitySha256 = identity?.Fingerprint,
            IdentityClient = identity?.Client,
            Method = request?.Method ?? "",
            Host = request?.Headers.Host.ToString() ?? "",
            Path = request is null ? "" : request.PathBase + request.Path,
            Status = (error as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest,
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
