namespace SegmentController.Proxy;

/// <summary>Log event ids of the proxy, in one place so they stay unique (2000–2099).</summary>
internal static class ProxyEventIds
{
    public const int AccessRecordFailed = 2000;
    public const int CrossClientRequest = 2001;
    public const int UpstreamFailed = 2002;
    public const int ConfigRejected = 2003;
    public const int IdentityRefused = 2004;
    public const int ForwardingResumed = 2005;
    public const int GateRefusalsNotRecorded = 2006;
    public const int UpstreamProbe = 2007;
    public const int RouteNotInForce = 2008;
    public const int UpstreamHttp10 = 2009;
    public const int MalformedNotRecorded = 2010;
}
