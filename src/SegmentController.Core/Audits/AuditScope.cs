using SegmentController.Core.Policy;

namespace SegmentController.Core.Audits;

/// <summary>What an audit covers: the policy in force, the clients, and the evidence window.</summary>
public sealed record AuditScope(SitePolicy Policy, IReadOnlyList<string> Clients, DateTimeOffset WindowStart, DateTimeOffset WindowEnd);
