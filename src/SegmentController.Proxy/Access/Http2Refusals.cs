using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace SegmentController.Proxy.Access;

/// <summary>
/// HTTP/2 requests the server refuses on its own, before any of the proxy's middleware runs, and reports only in its
/// log: a header block it will not take (a field name in capitals, a connection-specific field, pseudo-header fields
/// out of order, unknown, repeated or missing, a method, path or scheme it finds invalid) or HPACK that does not
/// decode, and every other protocol error that ends an agent's connection. Over HTTP/1.1 such a request reaches
/// <see cref="MalformedRequests"/> through the server's diagnostic events; over HTTP/2 the server answers it with a
/// stream reset or by closing the connection (GOAWAY) and says so only at debug level, in the category
/// <see cref="Category"/>, naming the connection by its id. This listens there, whatever the log's own level, and
/// hands each such refusal to <see cref="MalformedRequests.Http2Refused"/>; everything else goes on to the log as
/// configured.
/// </summary>
/// <remarks>
/// Which events are refusals, by the server's event ids (stable across its versions; the tests pin each shape):
/// <list type="bullet">
/// <item>29 <c>Http2ConnectionError</c> and 31 <c>HPackDecodingError</c>: the connection is closed for a protocol error;</item>
/// <item>35 <c>Http2StreamResetAbort</c> with error <c>PROTOCOL_ERROR</c>: a request's method, path or scheme is invalid,
/// found before the request is handed on (the proxy's own cuts reset streams with <c>INTERNAL_ERROR</c>);</item>
/// <item>30 <c>Http2StreamError</c> with <c>PROTOCOL_ERROR</c> raised while the server starts the stream (a header block
/// missing <c>:method</c>, <c>:scheme</c> or <c>:path</c>, or ending the stream with less than its Content-Length). The same event
/// also reports a malformed body of a request already handed on, which that request's own record covers (outcome
/// <c>aborted</c>): the two are told apart by where the server raised the error.</item>
/// </list>
/// Nothing here runs per request: the server writes these events only when it refuses something.
/// </remarks>
internal sealed class Http2Refusals
{
    /// <summary>The log category of the server's HTTP/2 connection handling.</summary>
    public const string Category = "Microsoft.AspNetCore.Server.Kestrel.Http2";

    internal const int ConnectionError = 29;
    internal const int StreamError = 30;
    internal const int HPackDecodingError = 31;
    internal const int StreamResetAbort = 35;

    // Where the server raises a stream error for a request it has not handed on yet: starting the stream, within the
    // decoding of a new stream's header block (the name that stays on the stack should the first ever be inlined).
    // A request's trailers are decoded elsewhere, and its body's frames too.
    private static readonly string[] StartingTheStream = ["StartStream", "DecodeHeadersAsync"];

    private MalformedRequests? _recorder;

    /// <summary>Starts handing refusals to <paramref name="recorder"/> (once the proxy's services are built).</summary>
    public void Attach(MalformedRequests recorder) => Volatile.Write(ref _recorder, recorder);

    /// <summary>The server's HTTP/2 logger, listened to.</summary>
    public ILogger Wrap(ILogger inner) => new Listener(inner, this);

    /// <summary>The refusal an event reports, if it reports one: the connection's id and whether only a stream of it was refused.</summary>
    internal static (string ConnectionId, bool StreamOnly)? Refusal(int eventId, IReadOnlyList<KeyValuePair<string, object?>>? fields, Exception? exception)
    {
        switch (eventId)
        {
            case ConnectionError or HPackDecodingError:
                return Field(fields, "ConnectionId") is { } connection ? (connection, false) : null;
            case StreamResetAbort when string.Equals(Field(fields, "error"), "PROTOCOL_ERROR", StringComparison.Ordinal):
                // The trace identifier of an HTTP/2 request is "<connection id>:<stream id in hex>".
                return Field(fields, "TraceIdentifier") is { } trace && trace.LastIndexOf(':') is > 0 and var colon ? (trace[..colon], true) : null;
            case StreamError when exception is not null && IsProtocolError(exception) && RaisedStartingTheStream(exception):
                return Field(fields, "ConnectionId") is { } id ? (id, true) : null;
            default:
                return null;
        }
    }

    private static bool IsProtocolError(Exception exception) =>
        string.Equals(exception.GetType().GetProperty("ErrorCode")?.GetValue(exception)?.ToString(), "PROTOCOL_ERROR", StringComparison.Ordinal);

    private static bool RaisedStartingTheStream(Exception exception)
    {
        foreach (var frame in new StackTrace(exception, fNeedFileInfo: false).GetFrames())
        {
            if (frame.GetMethod()?.Name is { } name && Array.IndexOf(StartingTheStream, name) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    private static string? Field(IReadOnlyList<KeyValuePair<string, object?>>? fields, string name)
    {
        if (fields is null)
        {
            return null;
        }

        for (var i = 0; i < fields.Count; i++)
        {
            if (string.Equals(fields[i].Key, name, StringComparison.Ordinal))
            {
                return fields[i].Value?.ToString();
            }
        }

        return null;
    }

    private void Heard(int eventId, IReadOnlyList<KeyValuePair<string, object?>>? fields, Exception? exception)
    {
        if (Volatile.Read(ref _recorder) is not { } recorder)
        {
            return;
        }

        // On the server's own connection loop: nothing here may throw into it.
        try
        {
            if (Refusal(eventId, fields, exception) is { } refusal)
            {
                recorder.Http2Refused(refusal.ConnectionId, refusal.StreamOnly);
            }
        }
        catch (Exception e)
        {
            recorder.NotRecorded(Field(fields, "ConnectionId") ?? Field(fields, "TraceIdentifier") ?? "?", e);
        }
    }

    private sealed class Listener(ILogger inner, Http2Refusals owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        // Debug is where the server reports these: enabled here whatever the log's level (its trace-level frame
        // lines stay as the log has them).
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug || inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is ConnectionError or StreamError or HPackDecodingError or StreamResetAbort)
            {
                owner.Heard(eventId.Id, state as IReadOnlyList<KeyValuePair<string, object?>>, exception);
            }

            if (inner.IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
