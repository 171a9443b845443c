namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// What an agent's TLS client certificate says: its subject and SHA-256 fingerprint (for the access
/// record) and, where the policy asks for certificates, the one client it maps to — or why none.
/// </summary>
internal sealed record AgentIdentity
{
    /// <summary>No certificate was presented.</summary>
    public static AgentIdentity None { get; } = new() { Problem = "presented no client certificate" };

    /// <summary>The certificate's subject, or null without a certificate.</summary>
    public string? Subject { get; init; }

    /// <summary>Lower-case hex SHA-256 of the certificate, or null without one.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>The client the certificate maps to; null when it maps to none (see <see cref="Problem"/>).</summary>
    public string? Client { get; init; }

    /// <summary>Why the certificate identifies no client (untrusted, expired, no match, several matches).</summary>
    public string? Problem { get; init; }
}
