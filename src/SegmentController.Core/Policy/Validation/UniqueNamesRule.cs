using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>Client ids and switch names are keys (metrics, records, references): each must be unique.</summary>
internal sealed class UniqueNamesRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        Report(facts.ClientIds, "client id", diagnostics);
        Report(facts.SwitchNames, "switch name", diagnostics);
    }

    private static void Report(List<Claim<string>> names, string what, PolicyDiagnostics diagnostics)
    {
        var first = new Dictionary<string, Position>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!first.TryAdd(name.Value, name.At))
            {
                diagnostics.Add(name.At, $"duplicate {what} '{name.Value}' (first used at line {first[name.Value].Line})");
            }
        }
    }
}
