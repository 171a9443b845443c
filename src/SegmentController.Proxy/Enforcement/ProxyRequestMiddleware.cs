using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Access;
using SegmentController.Proxy.Configuration;
using SegmentController.Proxy.Gate;
using Yarp.ReverseProxy.Model;

namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// The outer gate of every request: source → client (unknown → 403), suspended → cut, store unable to
/// take records → 503 (fail closed), in-flight tracking for trips, and the access record at the end.
/// </summary>
internal sealed partial class ProxyRequestMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ClientDirectory _directory;
    private readonly ISuspensionView _suspensions;
    private readonly InFlightRequests _inFlight;
    private readonly AccessRecords _records;
    private readonly ProxyFindings _findings;
    private readonly RouteEnforcementMiddleware _enforcement;
    private readonly IProxyMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ProxyRequestMiddleware(
        RequestDelegate next,
        ClientDirectory directory,
        ISuspensionView suspensions,
        InFlightRequests inFlight,
        AccessRecords records,
        ProxyFindings findings,
        RouteEnforcementMiddleware enforcement,
        IProxyMetrics metrics,
        TimeProvider time,
        ILogger<ProxyRequestMiddleware> logger)
    {
        _next = next;
        _directory = directory;
        _suspensions = suspensions;
        _inFlight = inFlight;
        _records = records;
        _findings = findings;
        _enforcement = enforcement;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = _time.GetTimestamp();
        var at = _time.GetUtcNow();
        var sourceAddress = context.Connection.RemoteIpAddress;
        var source = sourceAddress?.ToString() ?? "?";

        // One snapshot for the whole decision: the address map and the certificate map of one policy.
        var snapshot = _directory.Current;
        var certificates = snapshot.Certificates;
        var state = new ProxyRequestState
        {
            Snapshot = snapshot,
            SourceClient = snapshot.Addresses.Resolve(sourceAddress),
            Identity = certificates.IdentityOf(context.Connection.ClientCertificate),
        };
        context.Features.Set(state);

        // A request that cannot have a body (a GET without one, an upgrade) is not wrapped: its body's bytes in are 0.
        var requestBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false ? null : new CountingStream(context.Request.Body);
        var responseBody = new CountingStream(context.Response.Body);
        CountingUpgradeFeature? upgrade = null;
        var cut = false;
        try
        {
            if (state.SourceClient is not { } client)
            {
                if (_suspensions.Current.AllSuspended)
                {
                    // Every client suspended: nobody is answered, not even with a 403.
                    state.Outcome = ProxyOutcomes.Suspended;
                    context.Abort();
                    return;
                }

                state.Outcome = ProxyOutcomes.UnknownSource;
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await _findings.UnknownSourceAsync(source, context.Request.Method, AgentHost.Of(context.Request), context.Request.Path.Value ?? "", CancellationToken.None).ConfigureAwait(false);
                return;
            }

            // Track before checking: a trip publishes its state before it enumerates the tracked requests.
            var clusterId = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.ClusterId;
            using var request = new InFlightRequest(context) { Source = sourceAddress, ClusterId = clusterId };
            context.RequestAborted = request.Token;
            _inFlight.Add(client, request);
            try
            {
                if (_suspensions.Current.IsSuspended(client))
                {
                    state.Outcome = ProxyOutcomes.Suspended;
                    context.Abort();
                    return;
                }

                // Likewise a reload puts its snapshot in force before it judges the tracked requests again:
                // one that came meanwhile is judged here, under the policy now in force.
                if (_directory.Current is var current && !ReferenceEquals(current, snapshot) && !current.StillAdmits(snapshot, client, sourceAddress, clusterId))
                {
                    state.Outcome = ProxyOutcomes.Aborted;
                    context.Abort();
                    return;
                }

                if (certificates.Required && !await IdentityAcceptedAsync(context, state, client, source).ConfigureAwait(false))
                {
                    return;
                }

                if (!await _records.ReadyToForwardAsync(request.Token).ConfigureAwait(false))
                {
                    state.Outcome = ProxyOutcomes.StoreUnavailable;
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    return;
                }

                if (requestBody is not null)
                {
                    context.Request.Body = requestBody;
                }

                context.Response.Body = responseBody;

                // An upgraded connection's bytes cross the stream the upgrade returns, not the bodies.
                upgrade = CountingUpgradeFeature.Install(context);
                await _next(context).ConfigureAwait(false);
                await _enforcement.AfterForwardingAsync(context, state).ConfigureAwait(false);
                if (request.Token.IsCancellationRequested)
                {
                    state.Outcome = OutcomeOfCut(state);
                }
                else
                {
                    state.Outcome ??= context.GetEndpoint() is null ? ProxyOutcomes.NoRoute : ProxyOutcomes.Forwarded;
                }
            }
            catch (OperationCanceledException) when (request.Token.IsCancellationRequested)
            {
                state.Outcome = OutcomeOfCut(state);
            }
            finally
            {
                cut = request.Token.IsCancellationRequested;
                _inFlight.Remove(client, request);
                if (request.WasCut)
                {
                    // The trip queued the agent's abort to the thread pool; it must land before the
                    // response ends here, or a cut chunked response could look complete to the agent.
                    request.AbortAgent();
                }
            }
        }
        finally
        {
            var duration = _time.GetElapsedTime(started);
            var outcome = state.Outcome ?? ProxyOutcomes.Aborted;
            _metrics.RequestCompleted(state.SourceClient ?? ProxyOutcomes.UnknownClient, outcome, duration);
            await AppendAsync(context, snapshot, state, at, source, outcome, cut, (requestBody?.BytesRead ?? 0) + (upgrade?.BytesIn ?? 0), responseBody.BytesWritten + (upgrade?.BytesOut ?? 0), duration).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A request cut while in flight (a trip, or the agent went away) is aborted, unless the proxy had already
    /// refused it for asking for another client's system: nothing of it was forwarded, and it is often that very
    /// request's finding that tripped the cut. It stays a cross-client request, in the metrics as in its record.
    /// </summary>
    private static string OutcomeOfCut(ProxyRequestState state) =>
        state.Outcome == ProxyOutcomes.CrossClient ? ProxyOutcomes.CrossClient : ProxyOutcomes.Aborted;

    /// <summary>The certificate must name exactly one client, and it must be the source address's client.</summary>
    private async ValueTask<bool> IdentityAcceptedAsync(HttpContext context, ProxyRequestState state, string client, string source)
    {
        var identity = state.Identity ?? AgentIdentity.None;
        if (string.Equals(identity.Client, client, StringComparison.Ordinal))
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        var host = AgentHost.Of(context.Request);
        var path = context.Request.Path.Value ?? "";
        Log.IdentityRefused(_logger, source, client, identity.Subject ?? "-", identity.Client ?? identity.Problem ?? "?");
        if (identity.Client is null)
        {
            state.Outcome = ProxyOutcomes.UnknownIdentity;
            await _findings.UnknownIdentityAsync(client, source, identity, context.Request.Method, host, path, CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            state.Outcome = ProxyOutcomes.CrossClient;
            await _findings.CrossClientCertificateAsync(client, source, identity, context.Request.Method, host, path, CancellationToken.None).ConfigureAwait(false);
        }

        return false;
    }

    private async ValueTask AppendAsync(HttpContext context, ProxySnapshot snapshot, ProxyRequestState state, DateTimeOffset at, string source, string outcome, bool cut, long bytesIn, long bytesOut, TimeSpan duration)
    {
        // A request cut before its response started got no status at all (a refusal's 403 included): say so
        // rather than the status it would have had.
        var answered = context.Response.HasStarted || (!cut && outcome is not (ProxyOutcomes.Suspended or ProxyOutcomes.Aborted));
        var record = new AccessRecord
        {
            Time = at,
            Client = state.SourceClient,
            Source = source,
            Identity = state.Identity?.Subject,
            IdentitySha256 = state.Identity?.Fingerprint,
            IdentityClient = state.Identity?.Client,
            Method = context.Request.Method,
            Host = AgentHost.Of(context.Request),
            Path = context.Request.PathBase.Add(context.Request.Path).Value ?? "/",
            Status = answered ? context.Response.StatusCode : null,
            BytesIn = bytesIn,
            BytesOut = bytesOut,
            DurationSeconds = duration.TotalSeconds,
            Upstream = state.Upstream,
            RouteClient = state.RouteClient,
            Outcome = outcome,
        };
        if (state.SourceClient is not { } client)
        {
            // Serialized into this thread's buffer, which the store copies before WriteAsync returns.
            await _records.WriteAsync(null, RecordBuffer.Serialize(record)).ConfigureAwait(false);
            return;
        }

        // An agent that asked for another client's system, or presented another client's certificate: the
        // request concerns that client too. The full record is kept under both keys (withheld from each
        // one's export), and each reads its own view of it, naming nothing of the other.
        var asked = OtherClient(client, state.RouteClient) ?? OtherClient(client, state.Identity?.Client);
        if (asked is null)
        {
            await _records.WriteAsync(ClientKey.Of(client), RecordBuffer.Serialize(record)).ConfigureAwait(false);
            return;
        }

        await _records.WriteAsync(ClientKey.Of([client, asked]), RecordBuffer.Serialize(record)).ConfigureAwait(false);
        await _records.WriteAsync(RecordTypes.AccessView, ClientKey.Of(client), RecordBuffer.Serialize(View(record, client, snapshot.RedactorFor(client)))).ConfigureAwait(false);
        await _records.WriteAsync(RecordTypes.AccessView, ClientKey.Of(asked), RecordBuffer.Serialize(View(record, asked, snapshot.RedactorFor(asked)))).ConfigureAwait(false);
    }

    private static string? OtherClient(string client, string? other) =>
        other is not null && !string.Equals(other, client, StringComparison.Ordinal) ? other : null;

    /// <summary>
    /// <paramref name="record"/> as <paramref name="reader"/> may read it: the other client's id replaced,
    /// its addresses and host names redacted, and a certificate that is not the reader's not described.
    /// </summary>
    internal static AccessRecord View(in AccessRecord record, string reader, ClientRedactor redactor)
    {
        var own = record.IdentityClient is null ? string.Equals(record.Client, reader, StringComparison.Ordinal) : string.Equals(record.IdentityClient, reader, StringComparison.Ordinal);
        return record with
        {
            Client = Named(record.Client, reader),
            Source = redactor.Redact(record.Source),
            Identity = own && record.Identity is { } subject ? redactor.Redact(subject) : null,
            IdentitySha256 = own ? record.IdentitySha256 : null,
            IdentityClient = Named(record.IdentityClient, reader),
            Host = redactor.Redact(record.Host),
            Path = redactor.Redact(record.Path),
            Upstream = record.Upstream is { } upstream ? redactor.Redact(upstream) : null,
            RouteClient = Named(record.RouteClient, reader),
        };

        static string? Named(string? client, string reader) =>
            client is null || string.Equals(client, reader, StringComparison.Ordinal) ? client : ClientRedactor.AnotherClient;
    }

    /// <summary>A thread's buffer for serializing access records: one copy per record, the store's.</summary>
    [SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "Lives as long as its thread; the writer writes to managed memory only, so disposing it would only flush.")]
    private sealed class RecordBuffer
    {
        [ThreadStatic]
        private static RecordBuffer? t_current;

        private readonly ArrayBufferWriter<byte> _output = new(1024);
        private readonly Utf8JsonWriter _writer;

        private RecordBuffer()
        {
            _writer = new Utf8JsonWriter(_output);
        }

        /// <summary>The record's JSON, valid until this thread serializes the next one.</summary>
        public static ReadOnlyMemory<byte> Serialize(in AccessRecord record)
        {
            var buffer = t_current ??= new RecordBuffer();
            buffer._output.ResetWrittenCount();
            buffer._writer.Reset();
            JsonSerializer.Serialize(buffer._writer, record, AccessJsonContext.Default.AccessRecord);
            buffer._writer.Flush();
            return buffer._output.WrittenMemory;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.IdentityRefused, LogLevel.Warning, "Request refused: {Source} ({SourceClient}) presented certificate {Subject}: {Identity}")]
        public static partial void IdentityRefused(ILogger logger, string source, string sourceClient, string subject, string identity);
    }
}
