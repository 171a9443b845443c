namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>One request as the upstream itself saw it.</summary>
internal sealed record UpstreamHit(string Method, string Host, string Path, string? ForwardedFor, DateTimeOffset At)
{
    public long BodyBytes { get; set; }

    // Written by the request's thread, read by the test's while requests go on: one 64-bit word (UTC ticks, 0 for none).
    private long _answeredTicks;

    /// <summary>When the upstream had written its whole answer (null while it has not: streams, WebSockets, cut requests).</summary>
    public DateTimeOffset? Answered
    {
        get => Volatile.Read(ref _answeredTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        set => Volatile.Write(ref _answeredTicks, value?.UtcTicks ?? 0);
    }

    /// <summary>The connection it came on (a key of <see cref="UpstreamServer.Connections"/>).</summary>
    public string ConnectionId { get; init; } = "";

    /// <summary>HTTP/1.1 or HTTP/2.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>Every request header as the upstream received it (name → values joined with ", ").</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}
