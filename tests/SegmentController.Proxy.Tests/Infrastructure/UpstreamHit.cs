namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>One request as the upstream itself saw it.</summary>
internal sealed record UpstreamHit(string Method, string Host, string Path, string? ForwardedFor, DateTimeOffset At)
{
    public long BodyBytes { get; set; }

    /// <summary>The connection it came on (a key of <see cref="UpstreamServer.Connections"/>).</summary>
    public string ConnectionId { get; init; } = "";

    /// <summary>HTTP/1.1 or HTTP/2.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>Every request header as the upstream received it (name → values joined with ", ").</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}
