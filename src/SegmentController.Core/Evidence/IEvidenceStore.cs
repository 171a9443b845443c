namespace SegmentController.Core.Evidence;

/// <summary>The tamper-evident store: append, read, verify, checkpoint, purge.</summary>
public interface IEvidenceStore : IRecordAppender
{
    /// <summary>Reads records in chain order, or newest first where the query asks (<see cref="RecordQuery.NewestFirst"/>).</summary>
    IAsyncEnumerable<StoredRecord> ReadAsync(RecordQuery query, CancellationToken cancellationToken);

    /// <summary>Recomputes the whole chain, the checkpoints and the signed head.</summary>
    Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken);

    /// <summary>Signs the current head into the chain now; returns the checkpoint's index.</summary>
    Task<long> CheckpointAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Removes the payloads of records whose every client's retention ended before <paramref name="today"/>;
    /// clients missing from <paramref name="retainUntil"/> and site-wide records are kept. The purge is
    /// itself recorded, and the chain still verifies afterwards.
    /// </summary>
    Task<PurgeResult> PurgeExpiredAsync(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today, CancellationToken cancellationToken);
}
