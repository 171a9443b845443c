namespace SegmentController.Core.Incidents;

/// <summary>Counts access records (from the evidence store) concerning clients in a window.</summary>
public interface IAccessRecordCounter
{
    /// <summary>Access records for any of <paramref name="clients"/> between the bounds (inclusive).</summary>
    Task<long> CountAsync(IReadOnlyList<string> clients, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);
}
