namespace SegmentController.Proxy.Forwarding;

/// <summary>What a TLS probe learned: the highest version the upstream agreed to, or why it could not tell.</summary>
internal sealed record UpstreamTlsVersion
{
    /// <summary>The protocol version as on the wire (0x0301 TLS 1.0 … 0x0304 TLS 1.3; 0x0300 and below: SSL); null when unknown.</summary>
    public ushort? Version { get; private init; }

    /// <summary>Why the version could not be learned (the upstream closed, answered with an alert other than protocol_version, …).</summary>
    public string? Problem { get; private init; }

    /// <summary>True when the upstream's highest version is below TLS 1.2.</summary>
    public bool IsWeak => Version is < 0x0303;

    /// <summary>TLS 1.1, TLS 1.3, SSL 3.0 …</summary>
    public string Name => Version switch
    {
        null => "unknown",
        <= 0x0300 => "SSL 3.0 or older",
        var v => $"TLS 1.{v - 0x0301}",
    };

    public static UpstreamTlsVersion Known(ushort version) => new() { Version = version };

    public static UpstreamTlsVersion Unknown(string problem) => new() { Problem = problem };
}
