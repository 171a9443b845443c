using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>An access port belongs to one client; trunk ports belong to the infrastructure and to no client.</summary>
internal sealed class PortConflictRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var owners = new Dictionary<SwitchPort, Claim<SwitchPort>>(SwitchPort.Comparer);
        var reported = new HashSet<(Position, string?)>();
        foreach (var claim in facts.Ports)
        {
            if (!owners.TryGetValue(claim.Value, out var first))
            {
                owners[claim.Value] = claim;
                continue;
            }

            // One message per range entry, not one per expanded port.
            if (first.Client != claim.Client && reported.Add((claim.At, first.Client)))
            {
                var role = first.Client is null ? "a trunk port of the infrastructure" : $"assigned to {first.Owner}";
                diagnostics.Add(claim.At, $"port {claim.Value.Port} on switch '{claim.Value.Switch}' is already {role} (line {first.At.Line}); a port belongs to one client");
            }
        }
    }
}
