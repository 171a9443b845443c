namespace SegmentController.Core.Evidence;

/// <summary>The first place where the chain does not hold.</summary>
/// <param name="Index">The first bad (or missing) record.</param>
/// <param name="Time">Its time, when the record exists; for a missing record the time of its predecessor.</param>
/// <param name="Reason">What is wrong, for people.</param>
/// <param name="Line">For an export, the 1-based line that is bad.</param>
public sealed record VerificationProblem(long Index, DateTimeOffset? Time, string Reason, long? Line = null);
