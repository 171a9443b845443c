namespace SegmentController.Core.Evidence;

/// <summary>
/// Appends records to the tamper-evident store. An append completes only after its record is on disk
/// and chained; it never drops a record silently.
/// </summary>
public interface IRecordAppender
{
    /// <summary>
    /// Appends one record and returns its index once durable.
    /// </summary>
    /// <param name="type">A <see cref="RecordTypes"/> id (reserved types are refused).</param>
    /// <param name="clients">A <see cref="ClientKey"/> (canonical, comma-joined) or null for site-wide records.</param>
    /// <param name="payload">The record body, normally compact UTF-8 JSON; copied before the call returns, so the caller may reuse its buffer.</param>
    /// <param name="cancellationToken">Cancels the wait only; a record already handed to the writer may still be written.</param>
    /// <exception cref="StoreUnavailableException">The record could not be made durable.</exception>
    /// <exception cref="ArgumentException">The type, clients or payload are malformed.</exception>
    ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>
    /// Hands one record to the writer and returns without waiting for it to be durable;
    /// <paramref name="observer"/> hears, once per batch, how many of its records were committed or
    /// failed. For writers at request rates that need no index back (the proxy's access records): no
    /// completion per record. A store without a cheaper way appends and reports each record alone. A store
    /// may store the records handed over in one batch that share a type and client key as one record (the
    /// SQLite store: the JSON array of their payloads, in hand-over order), so a payload handed over is one
    /// JSON value. Like <see cref="AppendAsync"/>, it copies the payload before it returns.
    /// </summary>
    /// <returns>False when the writer's queue is full and nothing was handed over (wait with <see cref="AppendAsync"/>).</returns>
    /// <exception cref="StoreUnavailableException">The store is closed or not open.</exception>
    /// <exception cref="ArgumentException">The type, clients or payload are malformed.</exception>
    bool TryHandOver(string type, string? clients, ReadOnlyMemory<byte> payload, IAppendObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var append = AppendAsync(type, clients, payload, CancellationToken.None);
        _ = ReportAsync(append, observer);
        return true;
    }

    /// <summary>The current write health; alerting and the proxy's fail-closed gate read it.</summary>
    StoreHealth Health { get; }

    /// <summary>Raised (on the writer's thread) whenever <see cref="Health"/> changes.</summary>
    event EventHandler<StoreHealth>? HealthChanged;

    private static async Task ReportAsync(ValueTask<long> append, IAppendObserver observer)
    {
        try
        {
            await append.ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            observer.Failed(1, e);
            return;
        }

        observer.Committed(1);
    }
}
