namespace SegmentController.Core.Evidence;

/// <summary>
/// Hears what became of the records handed over with <see cref="IRecordAppender.TryHandOver"/>: once per
/// batch, how many of them it made durable or failed. Called on the store's writer, in commit order.
/// </summary>
/// <remarks>
/// Keep it short and do not throw: the writer, which every record of the store goes through, waits for
/// it. A writer that meets an exception from it stops taking records (fail closed).
/// </remarks>
public interface IAppendObserver
{
    /// <summary><paramref name="count"/> of this observer's records are durable: committed, chained, synced.</summary>
    void Committed(int count);

    /// <summary>
    /// <paramref name="count"/> of this observer's records could not be written. The store's
    /// <see cref="IRecordAppender.Health"/> says so already.
    /// </summary>
    void Failed(int count, StoreUnavailableException reason);
}
