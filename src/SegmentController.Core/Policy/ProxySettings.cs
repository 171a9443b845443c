namespace SegmentController.Core.Policy;

/// <summary>The inline reverse proxy.</summary>
public sealed record ProxySettings
{
    /// <summary>Endpoints the proxy listens on, as <c>address:port</c> (IPv6 in brackets).</summary>
    public IReadOnlyList<string> Listen { get; init; } = ["0.0.0.0:8443"];

    /// <summary>The server certificate agents see. Required when the proxy runs.</summary>
    public CertificateReference? Certificate { get; init; }

    /// <summary>A PEM bundle of CAs trusted for upstream certificates; the system store when absent.</summary>
    public string? UpstreamCaFile { get; init; }

    /// <summary>
    /// When true, agents must present a client certificate, issued under <see cref="ClientCaFile"/>, that
    /// maps (by <see cref="ClientDefinition.AgentCertificates"/>) to the same client as their source address.
    /// </summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>A PEM bundle of the CAs that issue agent certificates; required with <see cref="RequireClientCertificate"/>.</summary>
    public string? ClientCaFile { get; init; }
}
