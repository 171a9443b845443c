using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>
/// Agent certificates hold together: the switch, the CA bundle and the per-client certificates come as
/// a set (a half-configured one would either lock every agent out or silently check nothing), and no
/// certificate can map to two clients.
/// </summary>
internal sealed class AgentCertificateRule : IPolicyRule
{
    /// <summary>The most agent certificate subjects a policy may list, all clients together.</summary>
    public const int MaxSubjects = 2000;

    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var c = facts.ClientCertificates;
        if (c.Required is { } required)
        {
            if (c.ClientCa is null)
            {
                diagnostics.Add(required, "require_client_certificate is true but client_ca is not set; name the PEM bundle of the CAs that issue agent certificates");
            }

            foreach (var client in c.ClientsWithoutCertificates)
            {
                diagnostics.Add(client.At, $"client '{client.Value}' has upstreams but no agent_certificates; with require_client_certificate none of its agents could connect");
            }
        }
        else
        {
            if (c.ClientCa is { } ca)
            {
                diagnostics.Add(ca, "client_ca has no effect unless require_client_certificate is true; set it, or remove client_ca");
            }

            foreach (var section in c.Sections)
            {
                diagnostics.Add(section.At, $"agent_certificates of client '{section.Value}' have no effect unless controller.proxy.require_client_certificate is true");
            }
        }

        var fingerprints = new Dictionary<string, Claim<string>>(StringComparer.Ordinal);
        foreach (var claim in c.Fingerprints)
        {
            if (!fingerprints.TryAdd(claim.Value, claim) && fingerprints[claim.Value] is var first && first.Client != claim.Client)
            {
                diagnostics.Add(claim.At, $"fingerprint {claim.Value[..16]}… already identifies {first.Owner} (line {first.At.Line}); a certificate belongs to one client");
            }
        }

        // Every pair of subjects of two clients is compared: bounded, so that checking a file stays quick.
        if (c.Subjects.Count > MaxSubjects)
        {
            diagnostics.Add(c.Subjects[MaxSubjects].At, $"{c.Subjects.Count} agent certificate subjects; at most {MaxSubjects} across all clients: name a client's agents by an attribute they share (OU=…), or list certificates by fingerprint");
            return;
        }

        for (var i = 0; i < c.Subjects.Count; i++)
        {
            var later = c.Subjects[i];
            foreach (var earlier in c.Subjects.Take(i))
            {
                if (earlier.Client == later.Client)
                {
                    continue;
                }

                if (later.Value.CanMatchSameCertificate(earlier.Value))
                {
                    diagnostics.Add(later.At, $"subject '{YamlMap.Printable(later.Value.Text)}' and subject '{YamlMap.Printable(earlier.Value.Text)}' of {earlier.Owner} (line {earlier.At.Line}) can match the same certificate; a certificate must map to exactly one client, so make them differ in an attribute both name");
                    break;
                }
            }
        }
    }
}
