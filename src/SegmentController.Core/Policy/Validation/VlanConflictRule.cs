using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>A VLAN belongs to one client, or to the infrastructure: a shared VLAN is a shared broadcast domain.</summary>
internal sealed class VlanConflictRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var owners = new Dictionary<int, Claim<int>>();
        // One message per list entry and other owner: overlapping ranges would otherwise give one per VLAN.
        var reported = new HashSet<(Position At, string? Owner)>();
        foreach (var claim in facts.Vlans)
        {
            if (!owners.TryGetValue(claim.Value, out var first))
            {
                owners[claim.Value] = claim;
                continue;
            }

            if (first.Client != claim.Client && reported.Add((claim.At, first.Client)))
            {
                diagnostics.Add(claim.At, $"VLAN {claim.Value} is already used by {first.Owner} (line {first.At.Line}); a VLAN belongs to one client or to the infrastructure");
            }
        }
    }
}
