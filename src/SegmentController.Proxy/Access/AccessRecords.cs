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
/// chained, fsynced — with the writer's next batch (a millisecond's window plus one fsync). The agent
/// does not wait for that fsync.</item>
/// <item>A failed write stops forwarding at once: the store turns unwritable before it fails the batch's
/// appends, every later request is refused (503, <c>store-unavailable</c>), every request in flight is
/// cut (<see cref="Stopped"/>), and a critical log line is written (the store's health also drops
/// <c>segctl_verification_healthy{source="store"}</c>). Forwarding resumes when a record commits again
/// (the records of refused requests keep trying).</item>
/// <item>So a crash loses at most the records of <see cref="Capacity"/> finished requests and of the
/// requests in flight at that moment.</item>
/// </list>
/// </remarks>
internal sealed partial class AccessRecords : IDisposable
{
    /// <summary>Records handed to the store and not yet durable, at most.</summary>
    public const int Capacity = 512;

    private readonly IRecordAppender _store;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots = new(Capacity, Capacity);
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
    public int Outstanding => Capacity - _slots.CurrentCount;

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

        return _slots.CurrentCount > 0 ? ValueTask.FromResult(true) : WaitForRoomAsync(cancellationToken);
    }

    /// <summary>Hands one record to the store's writer (waiting for room first); a failure stops forwarding.</summary>
    public async ValueTask WriteAsync(string? clients, byte[] payload)
    {
        // No cancellation: a finished request's record is never dropped, it waits for the store.
        await _slots.WaitAsync().ConfigureAwait(false);
        ValueTask<long> append;
        try
        {
            append = _store.AppendAsync(RecordTypes.Access, clients, payload, CancellationToken.None);
        }
        catch (StoreUnavailableException e)
        {
            _slots.Release();
            Fail(e.Message, e);
            return;
        }
        catch
        {
            _slots.Release();
            throw;
        }

        if (append.IsCompletedSuccessfully)
        {
            _slots.Release();
            Committed();
            return;
        }

        _ = CompleteAsync(append);
    }

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

    public void Dispose()
    {
        _store.HealthChanged -= OnHealthChanged;
        _slots.Dispose();
    }

    private async ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        _slots.Release();
        return Forwarding;
    }

    private async Task CompleteAsync(ValueTask<long> append)
    {
        try
        {
            await append.ConfigureAwait(false);
            Committed();
        }
        catch (StoreUnavailableException e)
        {
            Fail(e.Message, e);
        }
        finally
        {
            _slots.Release();
        }
    }

    private void Committed()
    {
        if (Volatile.Read(ref _failure) is not null && _store.Health.IsWritable && Interlocked.Exchange(ref _failure, null) is not null)
        {
            Log.ForwardingResumed(_logger);
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

    // Runs on the store's writer when a batch fails, before the batch's appends are failed: forwarding
    // stops at that instant, not when the first caller notices.
    private void OnHealthChanged(object? sender, StoreHealth health)
    {
        if (!health.IsWritable)
        {
            Fail(health.LastError ?? "the evidence store cannot write", null);
        }
        else
        {
            Committed();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.AccessRecordFailed, LogLevel.Critical, "Access records cannot be stored ({Reason}): forwarding stopped, requests in flight cut, every request refused until the store writes again")]
        public static partial void ForwardingStopped(ILogger logger, string reason, Exception? exception);

        [LoggerMessage(ProxyEventIds.ForwardingResumed, LogLevel.Warning, "Access records are stored again: forwarding resumes")]
        public static partial void ForwardingResumed(ILogger logger);
    }
}
