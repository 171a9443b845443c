using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>Every port list names a switch defined under <c>switches</c>.</summary>
internal sealed class SwitchReferenceRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        var defined = facts.SwitchNames.Select(s => s.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var reference in facts.SwitchReferences)
        {
            if (defined.Contains(reference.Value))
            {
                continue;
            }

            var suggestion = KeySuggester.Suggest(reference.Value, defined);
            diagnostics.Add(reference.At, $"switch '{YamlMap.Printable(reference.Value)}' is not defined under switches"
                + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
        }
    }
}
