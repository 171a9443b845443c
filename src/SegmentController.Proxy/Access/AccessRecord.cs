namespace SegmentController.Proxy.Access;

/// <summary>One request as written to the tamper-evident store (type <c>access</c>); a value, serialized where it is built.</summary>
internal readonly record struct AccessRecord
{
    public required DateTimeOffset Time { get; init; }

    public string? Client { get; init; }

    public required string Source { get; init; }

    /// <summary>The client certificate's subject.</summary>
    public string? Identity { get; init; }

    /// <summary>The client certificate's SHA-256 fingerprint (lower-case hex).</summary>
    public string? IdentitySha256 { get; init; }

    /// <summary>The client the certificate maps to, where certificates are required.</summary>
    public string? IdentityClient { get; init; }

    public required string Method { get; init; }

    public required string Host { get; init; }

    public required string Path { get; init; }

    /// <summary>The HTTP status the agent received; null when no response reached it (the request was cut).</summary>
    public int? Status { get; init; }

    public required long BytesIn { get; init; }

    public required long BytesOut { get; init; }

    public required double DurationSeconds { get; init; }

    public string? Upstream { get; init; }

    public string? RouteClient { get; init; }

    public required string Outcome { get; init; }
}
