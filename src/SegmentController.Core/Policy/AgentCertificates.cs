namespace SegmentController.Core.Policy;

/// <summary>
/// The TLS client certificates that identify a client's agents at the proxy (used when
/// <see cref="ProxySettings.RequireClientCertificate"/> is on). A certificate belongs to the client when
/// it matches any subject pattern or any fingerprint; one that matches two clients belongs to neither.
/// </summary>
public sealed record AgentCertificates
{
    /// <summary>Subject patterns, normalized (<see cref="SubjectPattern.Text"/>): every attribute named must be in the certificate's subject.</summary>
    public IReadOnlyList<SubjectPattern> Subjects { get; init; } = [];

    /// <summary>SHA-256 fingerprints of single certificates, lower-case hex without separators.</summary>
    public IReadOnlyList<string> Fingerprints { get; init; } = [];

    /// <summary>True when nothing identifies the client's agents.</summary>
    public bool IsEmpty => Subjects.Count == 0 && Fingerprints.Count == 0;
}
