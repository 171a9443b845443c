namespace SegmentController.Core.Policy;

/// <summary>One of a client's systems and how requests are matched to it.</summary>
public sealed record Upstream
{
    /// <summary>A name unique within the client.</summary>
    public required string Name { get; init; }

    /// <summary>Host names the proxy accepts for this upstream.</summary>
    public required IReadOnlyList<string> Hosts { get; init; }

    /// <summary>Path prefixes; <c>/</c> matches every path.</summary>
    public IReadOnlyList<string> PathPrefixes { get; init; } = ["/"];

    /// <summary>HTTPS destinations, load-balanced.</summary>
    public required IReadOnlyList<Uri> Destinations { get; init; }
}
