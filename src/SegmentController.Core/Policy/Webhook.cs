namespace SegmentController.Core.Policy;

/// <summary>An HTTPS endpoint called with a signed JSON body.</summary>
public sealed record Webhook
{
    /// <summary>The https:// URL.</summary>
    public required Uri Url { get; init; }

    /// <summary>The HMAC-SHA-256 key for the body signature.</summary>
    public SecretReference? Secret { get; init; }
}
