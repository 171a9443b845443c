using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>
/// A client id is a metric label value: it must not be one the controller writes for no one client
/// (<see cref="ReservedClientLabels"/>), or that client's series would mix with the placeholder's.
/// </summary>
internal sealed class ReservedClientIdRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        foreach (var id in facts.ClientIds)
        {
            if (ReservedClientLabels.IsReserved(id.Value))
            {
                diagnostics.Add(id.At, $"client id '{id.Value}' is reserved: metrics use '{ReservedClientLabels.AllClients}', '{ReservedClientLabels.NoClient}' and '{ReservedClientLabels.UnknownClient}' as the client label of every client, no client and an unknown source; choose another id");
            }
        }
    }
}
