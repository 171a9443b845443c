namespace SegmentController.Api;

/// <summary>An external audit to record: the client, pass or fail, who audited (null: the caller) and what they found.</summary>
internal sealed record ExternalAuditRequest(string Client, bool Passed, string? Auditor, string Summary);
