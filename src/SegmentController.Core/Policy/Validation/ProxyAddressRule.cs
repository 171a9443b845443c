using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>
/// The proxy's addresses sit in infrastructure subnets: a proxy inside a client's subnet would let that
/// client's segment reach the others' traffic without crossing a boundary.
/// </summary>
internal sealed class ProxyAddressRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var infrastructure = facts.Subnets.Where(s => s.Client is null).ToList();
        foreach (var address in facts.ProxyAddresses)
        {
            if (infrastructure.Any(s => s.Value.Contains(address.Value)))
            {
                continue;
            }

            var client = facts.Subnets.FirstOrDefault(s => s.Client is not null && s.Value.Contains(address.Value));
            diagnostics.Add(address.At, client is null
                ? $"proxy address {address.Value} is not inside any infrastructure subnet"
                : $"proxy address {address.Value} is inside subnet {client.Value} of {client.Owner} (line {client.At.Line}); it must sit in an infrastructure subnet");
        }
    }
}
