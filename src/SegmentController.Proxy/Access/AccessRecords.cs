using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;

namespace SegmentController.Proxy.Access;

/// <summary>
/// Access records on their way to the tamper-evident store, and the proxy's fail-closed switch.
/// </summary>
/// <remarks>
/// What is durable when:
/// <list type="bullet">
/// <item>A request is forwarded only while the store is writable, no access record has failed since the
/// last one committed, and fewer than <see cref="Capacity"/> records are handed over and not yet durable
/// (otherwise it waits for room, before anything is sent upstream).</item>
/// <item>When the request ends (before its connection takes another request) its record is handed to the
/// store's writer, waiting for room if <see cref="Capacity"/> are outstanding; it is durable — committed,
/// chained, fsynced — with the writer's next batch (within the store's batch window plus one fsync). The
/// agent does not wait for that fsync, and nothing is completed per record: the store tells this class
/// once per batch how many of its records committed or failed (<see cref="IAppendObserver"/>).</item>
/// <item>A failed write stops forwarding at once: the store turns unwritable before it reports the
/// batch's records, every later request is refused (503, <c>store-unavailable</c>), every request in flight
/// is cut (<see cref="Stopped"/>), and a critical log line is written (the store's health also drops
/// <c>segctl_verification_healthy{source="store"}</c>). The store keeps the batch's records and writes
/// them, first, with its next commit (<see cref="IAppendObserver.Retrying"/>; their slots stay held until
/// then), so the requests served before the failure are on record once it passes. Forwarding resumes
/// when a record commits again (the store retries on its own, and the records of refused requests keep
/// trying).</item>
/// <item>So a crash loses at most the records of <see cref="Capacity"/> finished requests and of the
/// requests in flight at that moment.</item>
/// </list>
/// Concurrency: the count of outstanding records is taken and given back atomically; a waiter takes the
/// current room signal before it checks the count, so a commit after the check wakes it.
/// </remarks>
internal sealed partial class AccessRecords : IAppendObserver, IDisposable
{
    /// <summary>Records handed to the store and not yet durable, at most.</summary>
    public const int Capacity = 512;

    private readonly IRecordAppender _store;
    private readonly ILogger _logger;
    private int _outstanding;
    private long _dropped;
    private long _droppedReported;
    private TaskCompletionSource? _room;
    private string? _failure;

    public AccessRecords(IRecordAppender store, ILogger<AccessRecords> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _logger = logger;
        _store.HealthChanged += OnHealthChanged;
    }

    /// <summary>Raised (once per failure) when forwarding stops because a record could not be written.</summary>
    public event Action<string>? Stopped;

    /// <summary>True while requests may be forwarded: the store writes and no record failed since the last that committed.</summary>
    public bool Forwarding => Volatile.Read(ref _failure) is null && _store.Health.IsWritable;

    /// <summary>Records handed over and not yet durable, now.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>
    /// Whether a request may be forwarded now: false when the store cannot take records; waits while the
    /// window of records not yet durable is full.
    /// </summary>
    public ValueTask<bool> ReadyToForwardAsync(CancellationToken cancellationToken)
    {
        if (!Forwarding)
        {
            return ValueTask.FromResult(false);
        }

        return Volatile.Read(ref _outstanding) < Capacity ? ValueTask.FromResult(true) : WaitForRoomAsync(cancellationToken);
    }

    /// <summary>
    /// Hands one record to the store's writer (waiting for room first); a failure stops forwarding.
    /// <paramref name="payload"/> is read before this returns: the caller may reuse its buffer then.
    /// </summary>
    public ValueTask WriteAsync(string? clients, ReadOnlyMemory<byte> payload) => WriteAsync(RecordTypes.Access, clients, payload);

    /// <summary>
    /// Hands one record of <paramref name="type"/> (<c>access</c>, or a client's <c>access-view</c>) to the
    /// store's writer, as <see cref="WriteAsync(string?, ReadOnlyMemory{byte})"/> does.
    /// </summary>
    public ValueTask WriteAsync(string type, string? clients, ReadOnlyMemory<byte> payload)
    {
        if (TryTakeSlot())
        {
            return HandOver(type, clients, payload);
        }

        // The window is full of records the store keeps for its next attempt while it cannot write:
        // nothing is forwarded meanwhile, and a request that ends now (refused, or cut when forwarding
        // stopped) must not wait for the disk to answer. Its record is dropped, counted and logged.
        if (!Forwarding)
        {
            Dropped();
            return ValueTask.CompletedTask;
        }

        // No cancellation: a finished request's record is never dropped while the store writes; it waits for room.
        return WriteWhenRoomAsync(type, clients, payload.ToArray());
    }

    /// <summary>Records dropped because the store could not write and the window was full (since start).</summary>
    public long DroppedRecords => Interlocked.Read(ref _dropped);

    /// <summary>Writes a record outside the window (gate refusals: nothing was forwarded, nothing waits for it).</summary>
    public async Task WriteUnboundedAsync(string? clients, byte[] payload)
    {
        try
        {
            await _store.AppendAsync(RecordTypes.Access, clients, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            Fail(e.Message, e);
        }
    }

    /// <inheritdoc />
    void IAppendObserver.Committed(int count)
    {
        Interlocked.Add(ref _outstanding, -count);
        Resume();
        Signal();
    }

    /// <inheritdoc />
    void IAppendObserver.Retrying(int count, StoreUnavailableException reason)
    {
        // Still held: their slots come back when the store commits them (or gives them up).
        Fail(reason.Message, reason);
        Signal();
    }

    /// <inheritdoc />
    void IAppendObserver.Failed(int count, StoreUnavailableException reason)
    {
        Interlocked.Add(ref _outstanding, -count);
        Fail(reason.Message, reason);
        Signal();
    }

    public void Dispose()
    {
        _store.HealthChanged -= OnHealthChanged;
        Signal();
    }

    private bool TryTakeSlot()
    {
        var outstanding = Volatile.Read(ref _outstanding);
        while (outstanding < Capacity)
        {
            var seen = Interlocked.CompareExchange(ref _outstanding, outstanding + 1, outstanding);
            if (seen == outstanding)
            {
                return true;
            }

            outstanding = seen;
        }

        return false;
    }

    private void GiveBackSlot()
    {
        Interlocked.Decrement(ref _outstanding);
        Signal();
    }

    // Holds a slot: the store's writer gives it back with the batch's report.
    private ValueTask HandOver(string type, string? clients, ReadOnlyMemory<byte> payload)
    {
        bool handed;
        try
        {
            handed = _store.TryHandOver(type, clients, payload, this);
        }
        catch (StoreUnavailableException e)
        {
            GiveBackSlot();
            Fail(e.Message, e);
            return ValueTask.CompletedTask;
        }
        catch
        {
            GiveBackSlot();
            throw;
        }

        return handed ? ValueTask.CompletedTask : AppendAloneAsync(type, clients, payload);
    }

    private async ValueTask WriteWhenRoomAsync(string type, string? clients, byte[] payload)
    {
        while (true)
        {
            // Taken before the attempt: a commit after it completes the signal.
            var room = Room();
            if (TryTakeSlot())
            {
                await HandOver(type, clients, payload).ConfigureAwait(false);
                return;
            }

            await room.ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var room = Room();
            if (!Forwarding)
            {
                return false;
            }

            if (Volatile.Read(ref _outstanding) < Capacity)
            {
                return true;
            }

            await room.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // The store's queue (every writer's records) is full: this record, its slot held, waits for its own commit.
    private async ValueTask AppendAloneAsync(string type, string? clients, ReadOnlyMemory<byte> payload)
    {
        try
        {
            await _store.AppendAsync(type, clients, payload, CancellationToken.None).ConfigureAwait(false);
            Resume();
        }
        catch (StoreUnavailableException e)
        {
            Fail(e.Message, e);
        }
        finally
        {
            GiveBackSlot();
        }
    }

    private Task Room()
    {
        var room = Volatile.Read(ref _room);
        if (room is not null)
        {
            return room.Task;
        }

        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _room, created, null) ?? created).Task;
    }

    private void Signal()
    {
        if (Volatile.Read(ref _room) is not null)
        {
            Interlocked.Exchange(ref _room, null)?.TrySetResult();
        }
    }

    private void Resume()
    {
        if (Volatile.Read(ref _failure) is not null && _store.Health.IsWritable && Interlocked.Exchange(ref _failure, null) is not null)
        {
            var dropped = Interlocked.Read(ref _dropped);
            Log.ForwardingResumed(_logger, dropped - Interlocked.Exchange(ref _droppedReported, dropped));
        }
    }

    private void Dropped()
    {
        if (Interlocked.Increment(ref _dropped) - Interlocked.Read(ref _droppedReported) == 1)
        {
            Log.RecordsDropped(_logger, Capacity);
        }
    }

    private void Fail(string reason, Exception? exception)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is null)
        {
            Log.ForwardingStopped(_logger, reason, exception);
            Stopped?.Invoke(reason);
        }
    }

    // Runs on the store's writer when a batch fails, before the batch's records are failed: forwarding
    // stops at that instant, not when the first caller notices.
    private void OnHealthChanged(object? sender, StoreHealth health)
    {
        if (!health.IsWritable)
        {
            Fail(health.LastError ?? "the evidence store cannot write", null);
        }
        else
        {
            Resume();
        }

        Signal();
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.AccessRecordFailed, LogLevel.Critical, "Access records cannot be stored ({Reason}): forwarding stopped, requests in flight cut, every request refused until the store writes again")]
        public static partial void ForwardingStopped(ILogger logger, string reason, Exception? exception);

        [LoggerMessage(ProxyEventIds.ForwardingResumed, LogLevel.Warning, "Access records are stored again: forwarding resumes ({Dropped} records of requests that ended while the store could not write were dropped)")]
        public static partial void ForwardingResumed(ILogger logger, long dropped);

        [LoggerMessage(ProxyEventIds.AccessRecordFailed, LogLevel.Critical, "The store cannot write and {Capacity} access records wait for it: the records of requests ending now (refused, or cut) are dropped until it writes again")]
        public static partial void RecordsDropped(ILogger logger, int capacity);
    }
}
