using SegmentController.Core.Audits;

namespace SegmentController.Audits;

/// <summary>A client's most recent audit result, for status and metrics.</summary>
internal sealed record ClientAuditStatus(string AuditId, AuditOutcome Outcome, DateTimeOffset FinishedAt);
