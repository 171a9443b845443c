using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>Every port list names a switch defined under <c>switches</c>.</summary>
internal sealed class SwitchReferenceRule : IPolicyRule
{
    // Each suggestion compares the name with every switch: past this many, a file (hostile, or generated
    // wrong) would take minutes to check. The errors are all reported; only the hints stop.
    private const int MaxSuggestions = 100;

    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var defined = facts.SwitchNames.Select(s => s.Value).ToHashSet(StringComparer.Ordinal);
        var suggested = 0;
        foreach (var reference in facts.SwitchReferences)
        {
            if (defined.Contains(reference.Value))
            {
                continue;
            }

            var suggestion = suggested++ < MaxSuggestions ? KeySuggester.Suggest(reference.Value, defined) : null;
            diagnostics.Add(reference.At, $"switch '{YamlMap.Printable(reference.Value)}' is not defined under switches"
                + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
        }
    }
}
