namespace SegmentController.Proxy.Configuration;

/// <summary>Keys the proxy puts in YARP route and cluster metadata.</summary>
internal static class ProxyMetadata
{
    /// <summary>The client id a route or cluster belongs to: the only thing enforcement trusts.</summary>
    public const string Client = "segctl.client";

    /// <summary>The upstream's name within the client.</summary>
    public const string Upstream = "segctl.upstream";
}
