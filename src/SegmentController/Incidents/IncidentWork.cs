using SegmentController.Core.Findings;

namespace SegmentController.Incidents;

/// <summary>One unit of work for the incident service: findings to group, or a measure to link.</summary>
/// <param name="Findings">Findings to group into incidents, or null.</param>
/// <param name="Scope">The client (or <c>*</c> for all) a measure concerns, or null.</param>
/// <param name="Measure">The measure taken, or null.</param>
internal readonly record struct IncidentWork(IReadOnlyList<Finding>? Findings, string? Scope, string? Measure);
