namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>One request as the upstream itself saw it.</summary>
internal sealed record UpstreamHit(string Method, string Host, string Path, string? ForwardedFor, DateTimeOffset At)
{
    public long BodyBytes { get; set; }

    /// <summary>Every request header as the upstream received it (name → values joined with ", ").</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}
