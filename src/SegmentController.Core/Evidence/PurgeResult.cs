namespace SegmentController.Core.Evidence;

/// <summary>What a purge removed.</summary>
/// <param name="PurgedCount">Records whose payload was removed.</param>
/// <param name="PurgeRecordIndex">The index of the (last) purge record written — one per client whose records were emptied, and one for records of several — or -1 when nothing was emptied.</param>
/// <param name="Clients">The clients whose retention had ended.</param>
public sealed record PurgeResult(long PurgedCount, long PurgeRecordIndex, IReadOnlyList<string> Clients);
