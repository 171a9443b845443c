namespace SegmentController.Core.Policy;

/// <summary>The management listener: operator API, metrics and health.</summary>
public sealed record ManagementSettings
{
    /// <summary>Endpoints, as <c>address:port</c>.</summary>
    public IReadOnlyList<string> Listen { get; init; } = ["127.0.0.1:9410"];

    /// <summary>The TLS certificate; the listener serves plain HTTP on loopback only when absent.</summary>
    public CertificateReference? Certificate { get; init; }

    /// <summary>The file of hashed API keys and their roles.</summary>
    public string? ApiKeysFile { get; init; }
}
