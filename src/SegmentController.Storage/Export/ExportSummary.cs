namespace SegmentController.Storage.Export;

/// <summary>What an export wrote.</summary>
/// <param name="Records">Records written in full (matching the query, plus the store's own records it needs).</param>
/// <param name="Matching">Of those, the records matching the query.</param>
/// <param name="Links">Records represented only by their chain link (the withheld ones included).</param>
/// <param name="Withheld">
/// In an export for one client, records matching the query that it withholds — chain links marked withheld —
/// because they concern other clients too.
/// </param>
public sealed record ExportSummary(long Records, long Matching, long Links, long Withheld = 0);
