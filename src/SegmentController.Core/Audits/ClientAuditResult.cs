namespace SegmentController.Core.Audits;

/// <summary>The audit result for one client with the checks that decided it.</summary>
public sealed record ClientAuditResult(string Client, AuditOutcome Outcome, IReadOnlyList<AuditCheck> FailingChecks, IReadOnlyList<AuditCheck> MissingEvidence);
