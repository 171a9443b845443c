namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>One request as the upstream itself saw it.</summary>
internal sealed record UpstreamHit(string Method, string Host, string Path, string? ForwardedFor, DateTimeOffset At)
{
    public long BodyBytes { get; set; }
}
