namespace SegmentController.Core.Policy.Loading;

/// <summary>What the reader saw of agent client certificates, for <c>AgentCertificateRule</c>.</summary>
internal sealed class ClientCertificateFacts
{
    /// <summary>Where <c>require_client_certificate: true</c> is written; null when off.</summary>
    public Position? Required { get; set; }

    /// <summary>Where <c>client_ca</c> is written; null when absent.</summary>
    public Position? ClientCa { get; set; }

    /// <summary>Every <c>agent_certificates</c> section, by client.</summary>
    public List<Claim<string>> Sections { get; } = [];

    /// <summary>Clients with upstreams but no <c>agent_certificates</c> (at the client's id).</summary>
    public List<Claim<string>> ClientsWithoutCertificates { get; } = [];

    public List<Claim<SubjectPattern>> Subjects { get; } = [];

    public List<Claim<string>> Fingerprints { get; } = [];
}
