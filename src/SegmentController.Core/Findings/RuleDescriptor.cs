namespace SegmentController.Core.Findings;

/// <summary>A rule's fixed identity.</summary>
/// <param name="Id">The stable rule id.</param>
/// <param name="Severity">The severity its findings carry.</param>
/// <param name="Source">The evidence it judges.</param>
/// <param name="Description">One line for people.</param>
public sealed record RuleDescriptor(string Id, Severity Severity, FindingSource Source, string Description);
