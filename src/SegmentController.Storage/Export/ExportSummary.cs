namespace SegmentController.Storage.Export;

/// <summary>What an export wrote.</summary>
/// <param name="Records">Records written in full (matching the query, plus the store's own records).</param>
/// <param name="Matching">Of those, the records matching the query.</param>
/// <param name="Links">Records represented only by their chain link.</param>
public sealed record ExportSummary(long Records, long Matching, long Links);
