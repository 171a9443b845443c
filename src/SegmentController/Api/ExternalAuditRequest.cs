namespace SegmentController.Api;

/// <summary>
/// An external audit to record: the client, pass or fail, the external auditor as the caller names them
/// (null: none named; who recorded it is the caller's credential, not this) and what they found.
/// </summary>
internal sealed record ExternalAuditRequest(string Client, bool Passed, string? ExternalAuditor, string Summary);
