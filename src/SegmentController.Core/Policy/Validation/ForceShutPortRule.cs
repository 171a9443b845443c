using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>
/// A client's <c>kill.force_shut_ports</c> names the client's own ports or infrastructure trunk ports,
/// nothing else: suspending one client must never shut another client's access port, nor a port the
/// policy gives no owner (which the controller would otherwise refuse to shut as nobody's).
/// </summary>
internal sealed class ForceShutPortRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        if (facts.ForceShutPorts.Count == 0)
        {
            return;
        }

        var defined = facts.SwitchNames.Select(s => s.Value).ToHashSet(StringComparer.Ordinal);
        var owners = new Dictionary<SwitchPort, Claim<SwitchPort>>(SwitchPort.Comparer);
        foreach (var claim in facts.Ports)
        {
            owners.TryAdd(claim.Value, claim);
        }

        // One message per range entry and owner (none: a port nobody owns), not one per expanded port.
        var reported = new HashSet<(Position, string?)>();
        foreach (var claim in facts.ForceShutPorts)
        {
            // An undefined switch is reported by SwitchReferenceRule; its ports have no owners to compare.
            if (!defined.Contains(claim.Value.Switch))
            {
                continue;
            }

            if (!owners.TryGetValue(claim.Value, out var owner))
            {
                if (reported.Add((claim.At, null)))
                {
                    diagnostics.Add(claim.At, $"port {claim.Value.Port} on switch '{claim.Value.Switch}' in force_shut_ports is neither a port of this client nor an infrastructure trunk port; force_shut_ports names trunks and uplinks listed under infrastructure trunk_ports, or the client's own ports");
                }

                continue;
            }

            if (owner.Client is not null && owner.Client != claim.Client && reported.Add((claim.At, owner.Client)))
            {
                diagnostics.Add(claim.At, $"port {claim.Value.Port} on switch '{claim.Value.Switch}' in force_shut_ports is assigned to {owner.Owner} (line {owner.At.Line}); suspending this client must not shut another client's port");
            }
        }
    }
}
