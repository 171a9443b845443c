using SegmentController.Core.Findings;

namespace SegmentController.Core.Policy;

/// <summary>What a finding leads to: by severity, with optional per-rule overrides.</summary>
public sealed record RuleSet
{
    /// <summary>By default a critical finding suspends the affected clients.</summary>
    public static RuleSet Default { get; } = new();

    /// <summary>The action per severity.</summary>
    public IReadOnlyDictionary<Severity, FindingAction> BySeverity { get; init; } = new Dictionary<Severity, FindingAction>
    {
        [Severity.Critical] = FindingAction.Suspend,
        [Severity.High] = FindingAction.Incident,
        [Severity.Medium] = FindingAction.Alert,
        [Severity.Low] = FindingAction.Record,
        [Severity.Info] = FindingAction.Record,
    };

    /// <summary>Actions for single rules, by rule id, overriding the severity's.</summary>
    public IReadOnlyDictionary<string, FindingAction> ByRule { get; init; } = new Dictionary<string, FindingAction>(StringComparer.Ordinal);

    /// <summary>The action for a finding of this rule and severity.</summary>
    public FindingAction ActionFor(string rule, Severity severity) =>
        ByRule.TryGetValue(rule, out var byRule) ? byRule
        : BySeverity.TryGetValue(severity, out var bySeverity) ? bySeverity
        : FindingAction.Record;
}
