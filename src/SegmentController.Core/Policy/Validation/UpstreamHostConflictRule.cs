using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>A host name routes to one client; two clients claiming it would make the proxy pick one of them.</summary>
internal sealed class UpstreamHostConflictRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var owners = new Dictionary<string, Claim<string>>(StringComparer.Ordinal);
        foreach (var claim in facts.UpstreamHosts)
        {
            if (!owners.TryAdd(claim.Value, claim) && owners[claim.Value] is var first && first.Client != claim.Client)
            {
                diagnostics.Add(claim.At, $"host '{claim.Value}' is already routed to {first.Owner} (line {first.At.Line}); a host name belongs to one client");
            }
        }
    }
}
