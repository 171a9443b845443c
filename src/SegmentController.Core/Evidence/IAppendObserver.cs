namespace SegmentController.Core.Evidence;

/// <summary>
/// Hears what became of the records handed over with <see cref="IRecordAppender.TryHandOver"/>: once per
/// batch, how many of them it made durable, keeps for another attempt, or lost. Called on the store's
/// writer, in commit order.
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
    /// <paramref name="count"/> of this observer's records are not durable yet because a commit failed: the
    /// store keeps them and tries again with its next batch, and reports them <see cref="Committed"/> (or,
    /// should the store stop or close first, <see cref="Failed"/>) later. The store's
    /// <see cref="IRecordAppender.Health"/> says it cannot write already. Heard after every failed attempt.
    /// </summary>
    void Retrying(int count, StoreUnavailableException reason);

    /// <summary>
    /// <paramref name="count"/> of this observer's records could not be written and never will be: the
    /// store stopped or closed with them. The store's <see cref="IRecordAppender.Health"/> says so already.
    /// </summary>
    void Failed(int count, StoreUnavailableException reason);
}
