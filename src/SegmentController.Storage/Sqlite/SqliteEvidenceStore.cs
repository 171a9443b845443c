using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// The tamper-evident store on SQLite. One writer task owns the connection: it gathers queued appends
/// into a batch, chains and inserts them and re-signs the head in one transaction (WAL,
/// synchronous=FULL), and reports each append only after that transaction committed: an awaited append
/// gets its index, a handed-over record counts in its observer's one report for the batch. Handed-over
/// records wait for the batch window (<see cref="StoreOptions.BatchWindow"/>); an awaited append or a
/// control operation ends it. A batch's handed-over records of one type and client key are written as one
/// record, the JSON array of their payloads. A batch that cannot commit faults every append in it and marks the store
/// unwritable until one commits again.
/// </summary>
/// <remarks>
/// Concurrency: the chain state (<c>_nextIndex</c>, <c>_head</c>, <c>_lastTicks</c>, <c>_key</c>) is
/// touched only by the writer task; callers share nothing but the channel and the health snapshot.
/// The writer is a thread-pool task, not a thread of its own: an append awaited alone reaches it as one
/// work item through the pool, where a thread of its own, blocked between appends, had to be woken on
/// top of that; on a busy two-core machine that cost more than the commits (9,000 appends one after
/// another beside two busy loops: 7 s as a task, 41 s as a thread).
/// </remarks>
public sealed class SqliteEvidenceStore : IEvidenceStore, IAsyncDisposable
{
    private readonly StoreOptions _options;
    private readonly TimeProvider _time;
    private readonly SqliteConnection _connection;
    private readonly Channel<PendingOperation> _queue;
    private readonly ITimer? _checkpointTimer;
    private readonly RecordInserter _inserter;
    private readonly SqliteCommand _writeHead;
    private readonly StoreLock _lock;
    private readonly List<(IAppendObserver Observer, int Count)> _tally = [];

    // Handed-over records of batches that could not be committed, in hand-over order: each later batch
    // starts with them (their requests were served: their records are not dropped while the store may
    // yet write). After a failed attempt the writer pauses RetryPause (an awaited append or a control
    // operation ends the pause), then tries them again with whatever came meanwhile.
    private readonly List<PendingAppend> _retained = [];
    private StoreUnavailableException? _lastFailure;

    /// <summary>The pause between failed attempts at retained records (an awaited append or a control operation ends it).</summary>
    internal static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(1);

    // The writer's scratch for joining a batch's handed-over entries into rows (Coalesce).
    private readonly List<PendingAppend> _rows = [];
    private readonly HandOverEntries _handOvers = new();
    private readonly List<EntryGroup> _groups = [];
    private int[] _entryGroup = new int[256];
    private byte[] _joined = new byte[64 * 1024];

    private const int MaxKeptJoinBytes = 4 << 20;

    private readonly Task _writer;

    // Completed to end the batch window the writer is waiting out (null while it waits for nothing).
    private TaskCompletionSource? _windowEnd;

    // Records handed over so far (callers count them), records of those the writer has drained (the
    // writer counts them), and the count of handed-over records that ends the open window early
    // (long.MaxValue while none is open). Each side writes its count with a full fence before it reads
    // the other's, so a window never misses the record that fills it.
    private long _handedOver;
    private long _handedDrained;
    private long _windowTarget = long.MaxValue;
    private SigningKey _key;
    private long _nextIndex;
    private byte[] _head = new byte[RecordHasher.HashSize];
    private byte[] _hashes = new byte[RecordHasher.HashSize];
    private long _lastTicks;
    private long _appendedSinceCheckpoint;
    private bool _resync;
    private volatile StoreHealth _health;
    private volatile bool _stopped;
    private int _disposed;

    private SqliteEvidenceStore(StoreOptions options, TimeProvider time, StoreLock storeLock, SqliteConnection connection, SigningKey key)
    {
        _options = options;
        _lock = storeLock;
        _time = time;
        _connection = connection;
        _key = key;
        _health = StoreHealth.Healthy(time.GetUtcNow());
        _inserter = new RecordInserter(connection);

        _writeHead = connection.CreateCommand();
        _writeHead.CommandText = "INSERT INTO head(id, idx, time, hash, key_id, signature) VALUES (1, $idx, $time, $hash, $key_id, $signature) "
            + "ON CONFLICT(id) DO UPDATE SET idx = excluded.idx, time = excluded.time, hash = excluded.hash, key_id = excluded.key_id, signature = excluded.signature";
        foreach (var name in new[] { "$idx", "$time", "$hash", "$key_id", "$signature" })
        {
            _writeHead.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _queue = Channel.CreateBounded<PendingOperation>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Run(RunWriterAsync);
        if (options.CheckpointInterval > TimeSpan.Zero)
        {
            _checkpointTimer = time.CreateTimer(_ => OnCheckpointTimer(), null, options.CheckpointInterval, options.CheckpointInterval);
        }
    }

    /// <inheritdoc />
    public StoreHealth Health => _health;

    /// <inheritdoc />
    public event EventHandler<StoreHealth>? HealthChanged;

    /// <summary>The store file.</summary>
    public string Path => _options.Path;

    /// <summary>The id of the key now signing checkpoints.</summary>
    public string KeyId => _key.Id;

    /// <summary>
    /// Opens (or creates) a store. A new store starts with a key-rotation record introducing its key.
    /// </summary>
    /// <exception cref="StoreUnavailableException">The file cannot be used, its head is inconsistent, or the key does not match the chain.</exception>
    public static async Task<SqliteEvidenceStore> OpenAsync(StoreOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        SqliteConnection? connection = null;
        SigningKey? key = null;
        StoreLock? storeLock = null;
        try
        {
            // A directory, named pipe or device is no store: said before a lock file is made beside it.
            if (Core.Policy.BoundedFile.NotRegularReason(options.Path) is { } notAStore)
            {
                throw new IOException(notAStore);
            }

            // One writer per store: a second process appending would interleave its batches with ours.
            storeLock = StoreLock.Acquire(options.Path);
            connection = SqliteConnections.OpenWriter(options.Path);
            var state = ReadState(connection);
            var fresh = state.NextIndex == 0;
            var keyFile = options.EffectiveSigningKeyFile;
            // A new store, the default key beside it, or a rotation (the previous key given) may create the
            // key file; a key named for an existing chain without its predecessor must already exist.
            if (fresh || options.SigningKeyFile is null || options.PreviousSigningKeyFile is not null)
            {
                key = SigningKey.LoadOrCreate(keyFile, options.Notice);
            }
            else
            {
                SigningKey.RemoveLeftovers(keyFile, options.Notice);
                key = SigningKey.Load(keyFile);
            }

            SigningKey? previous = null;
            var rotate = false;
            if (!fresh && !string.Equals(state.ChainKeyId, key.Id, StringComparison.Ordinal))
            {
                if (options.PreviousSigningKeyFile is not null)
                {
                    SigningKey.RemoveLeftovers(options.PreviousSigningKeyFile, options.Notice);
                    previous = SigningKey.Load(options.PreviousSigningKeyFile);
                    if (!string.Equals(previous.Id, state.ChainKeyId, StringComparison.Ordinal))
                    {
                        previous.Dispose();
                        throw new StoreUnavailableException($"the previous key {options.PreviousSigningKeyFile} is not the chain's current key {state.ChainKeyId}");
                    }
                }
                else if (!options.AllowUnendorsedKey)
                {
                    throw new StoreUnavailableException($"signing key {keyFile} ({key.Id}) is not the chain's current key {state.ChainKeyId}; give the previous key to rotate, or allow an unendorsed key");
                }

                rotate = true;
            }

            var store = new SqliteEvidenceStore(options, time, storeLock, connection, previous ?? key)
            {
                _nextIndex = state.NextIndex,
                _head = state.Head,
                _lastTicks = state.LastTicks,
            };
            connection = null;
            storeLock = null;
            try
            {
                if (fresh)
                {
                    await store.RunControlAsync(() => store.IntroduceKey(key, null, endorse: false, "store created"), cancellationToken).ConfigureAwait(false);
                }
                else if (rotate)
                {
                    var endorsed = previous is not null;
                    await store.RunControlAsync(() => store.IntroduceKey(key, state.ChainKeyId, endorsed, endorsed ? "key rotated at open" : "key replaced without the previous key"), cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                // Closed again (lock released): a store that could not record its key is not open.
                await store.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return store;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            connection?.Dispose();
            key?.Dispose();
            storeLock?.Dispose();
            throw new StoreUnavailableException($"store {options.Path} cannot be opened: {e.Message}", e);
        }
        catch
        {
            connection?.Dispose();
            key?.Dispose();
            storeLock?.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        Validate(type, clients, payload);
        var pending = PendingAppend.Awaited(type, clients, payload.ToArray());
        if (!_queue.Writer.TryWrite(pending))
        {
            return EnqueueSlowAsync(pending, cancellationToken);
        }

        EndWindow();
        return new ValueTask<long>(pending.Done!.Task.WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public bool TryHandOver(string type, string? clients, ReadOnlyMemory<byte> payload, IAppendObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        Validate(type, clients, payload);
        if (_queue.Writer.TryWrite(_handOvers.Rent(type, clients, payload.Span, observer)))
        {
            if (Interlocked.Increment(ref _handedOver) >= Volatile.Read(ref _windowTarget))
            {
                EndWindow();
            }

            return true;
        }

        // The channel refuses both when full and once closed; whoever closes it says so first.
        return Volatile.Read(ref _disposed) == 0 && !_stopped ? false : throw new StoreUnavailableException("the store is closed");
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredRecord> ReadAsync(RecordQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await Task.Yield();
        using var reader = StoreReader.Open(_options.Path);
        foreach (var record in RecordSelection.Select(reader, query))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
    }

    /// <inheritdoc />
    public Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken) =>
        Task.Run(() => StoreVerifier.Verify(_options.Path, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public async Task<long> CheckpointAsync(CancellationToken cancellationToken) =>
        (long)await RunControlAsync(() => WriteCheckpoint(), cancellationToken).ConfigureAwait(false);

    /// <summary>Switches to a new signing key, endorsed by the current one; returns the key-rotation record's index.</summary>
    public async Task<long> RotateKeyAsync(string newKeyFile, CancellationToken cancellationToken)
    {
        var next = SigningKey.LoadOrCreate(newKeyFile, _options.Notice);
        return (long)await RunControlAsync(
            () =>
            {
                if (string.Equals(next.Id, _key.Id, StringComparison.Ordinal))
                {
                    next.Dispose();
                    throw new InvalidOperationException($"{newKeyFile} holds the key already in force ({_key.Id})");
                }

                return IntroduceKey(next, _key.Id, endorse: true, "key rotated");
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<PurgeResult> PurgeExpiredAsync(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(retainUntil);
        var expired = PurgeSelection.Expired(retainUntil, today);
        return (PurgeResult)await RunControlAsync(() => Purge(expired, today), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops accepting appends, commits what is queued, signs a final checkpoint and closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            try
            {
                if (_checkpointTimer is not null)
                {
                    await _checkpointTimer.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                // The writer ends before anything it uses is closed (it never faults: it stops instead).
                var final = new PendingControl(() => Interlocked.Read(ref _appendedSinceCheckpoint) > 0 ? WriteCheckpoint() : -1L);
                _queue.Writer.TryWrite(final);
                _queue.Writer.TryComplete();
                EndWindow();
                await _writer.ConfigureAwait(false);
            }

            _inserter.Dispose();
            _writeHead.Dispose();
            await _connection.DisposeAsync().ConfigureAwait(false);
            _key.Dispose();
        }
        finally
        {
            // Released before the close returns, whatever failed above (the writer has ended by then):
            // the next writer, in this process or another, may open the store at once.
            _lock.Dispose();
        }
    }

    private void Validate(string type, string? clients, ReadOnlyMemory<byte> payload)
    {
        if (!RecordTypes.IsWellFormed(type) || RecordTypes.IsReserved(type))
        {
            throw new ArgumentException($"record type '{type}' is not one callers may append", nameof(type));
        }

        if (!ClientKey.IsCanonical(clients))
        {
            throw new ArgumentException($"client key '{clients}' is not canonical", nameof(clients));
        }

        if (payload.Length > _options.MaxPayloadBytes)
        {
            throw new ArgumentException($"payload of {payload.Length} bytes exceeds the limit of {_options.MaxPayloadBytes}", nameof(payload));
        }
    }

    private async ValueTask<long> EnqueueSlowAsync(PendingAppend pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new StoreUnavailableException("the store is closed", e);
        }

        EndWindow();
        return await pending.Done!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<object> RunControlAsync(Func<object> run, CancellationToken cancellationToken)
    {
        var control = new PendingControl(run);
        try
        {
            await _queue.Writer.WriteAsync(control, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new StoreUnavailableException("the store is closed", e);
        }

        EndWindow();
        return await control.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnCheckpointTimer()
    {
        if (Interlocked.Read(ref _appendedSinceCheckpoint) > 0 && Volatile.Read(ref _disposed) == 0)
        {
            // A failed checkpoint shows in Health; the next tick tries again.
            if (_queue.Writer.TryWrite(new PendingControl(() => Interlocked.Read(ref _appendedSinceCheckpoint) > 0 ? WriteCheckpoint() : -1L)))
            {
                EndWindow();
            }
        }
    }

    private async Task RunWriterAsync()
    {
        // Outside the loop: a writer that stops on an unexpected error fails what it held (see Stop).
        var batch = new List<PendingAppend>(_options.MaxBatch);
        PendingControl? control = null;
        try
        {
            var reader = _queue.Reader;
            var lastCommit = 0L;
            Task<bool>? waiting = null;
            while (true)
            {
                // One wait at a time (a single reader), kept across retries of retained records. With
                // records retained the writer has just paused after a failed attempt: it tries again now.
                waiting ??= reader.WaitToReadAsync().AsTask();
                if (!waiting.IsCompleted && _retained.Count == 0)
                {
                    await waiting.ConfigureAwait(false);
                }

                var open = true;
                if (waiting.IsCompleted)
                {
                    open = await waiting.ConfigureAwait(false);
                    waiting = null;
                }

                if (!open)
                {
                    // Closed: retained records had their last attempt with the final batch.
                    if (_retained.Count > 0)
                    {
                        var lost = new List<PendingAppend>(_retained);
                        _retained.Clear();
                        FailAppends(lost, _lastFailure ?? new StoreUnavailableException("the store closed before these records could be written"));
                    }

                    break;
                }

                // Retained records have waited long enough: their batch does not wait for the window.
                var retrying = _retained.Count > 0;
                batch.AddRange(_retained);
                _retained.Clear();

                // Published before draining: an awaited append or a control operation queued after this
                // point ends the window through it.
                var windowEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _windowEnd, windowEnd);
                control = null;
                var awaited = Drain(reader, batch, ref control);

                // Handed-over records wait for the window: under load each commit (one fsync, one head
                // signature, one rewrite of the tables' last pages) then serves a window's worth of
                // them. Nothing else waits: an awaited append or a control operation ends the window at
                // once, and a record that finds the last commit older than the window is committed at
                // once. The window is real time, not the store's clock: it paces the disk.
                // Enough records waiting end it too (WindowRecords).
                var full = Math.Min(_options.MaxBatch, _options.WindowRecords);
                if (!awaited && !retrying && control is null && batch.Count is > 0 && batch.Count < full && lastCommit != 0)
                {
                    var wait = _options.BatchWindow - Stopwatch.GetElapsedTime(lastCommit);
                    if (wait > TimeSpan.Zero)
                    {
                        var target = _handedDrained + (full - batch.Count);
                        Interlocked.Exchange(ref _windowTarget, target);
                        if (Interlocked.Read(ref _handedOver) < target)
                        {
                            await Task.WhenAny(windowEnd.Task, Task.Delay(wait, TimeProvider.System)).ConfigureAwait(false);
                        }

                        Interlocked.Exchange(ref _windowTarget, long.MaxValue);
                        Drain(reader, batch, ref control);
                    }
                }
                else if (awaited && control is null && batch.Count is > 1 && batch.Count < _options.MaxBatch && _options.AwaitedBatchWindow > TimeSpan.Zero)
                {
                    // Several awaited appends at once is load: a moment's wait lets one fsync serve more of them.
                    await Task.Delay(_options.AwaitedBatchWindow, TimeProvider.System).ConfigureAwait(false);
                    Drain(reader, batch, ref control);
                }

                Volatile.Write(ref _windowEnd, null);
                if (batch.Count > 0)
                {
                    lastCommit = Stopwatch.GetTimestamp();
                    CommitAppends(batch);
                }

                if (control is not null)
                {
                    try
                    {
                        control.Done.TrySetResult(control.Run());
                    }
                    catch (Exception e)
                    {
                        control.Fail(e is StoreUnavailableException ? e : new StoreUnavailableException($"store operation failed: {e.Message}", e));
                    }

                    control = null;
                }

                if (_retained.Count > 0)
                {
                    // The attempt failed: pause before the next, whatever handed-over records arrive (they
                    // join it), so a store that cannot write is not hammered; an awaited append or a
                    // control operation ends the pause at once (and has its attempt), closing the store too.
                    var pause = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    Volatile.Write(ref _windowEnd, pause);
                    if (!(reader.TryPeek(out var next) && next is PendingControl or PendingAppend { Done: not null }))
                    {
                        await Task.WhenAny(pause.Task, Task.Delay(RetryPause, TimeProvider.System)).ConfigureAwait(false);
                    }

                    Volatile.Write(ref _windowEnd, null);
                }
            }
        }
        catch (Exception e)
        {
            // Nothing the writer expects (those fail a batch and it goes on): stop taking records rather
            // than leave appends waiting on a dead writer while health says all is well.
            Stop(e, batch, control);
        }
    }

    // Called after an awaited append or a control operation is queued: ends the window, if one is open.
    private void EndWindow() => Volatile.Read(ref _windowEnd)?.TrySetResult();

    /// <summary>
    /// The writer met an error it does not expect: no more records are taken, and everything it held —
    /// the batch not yet committed, the retained records, the control operation drained, what is queued —
    /// is failed, so that no caller waits on a dead writer and no observer keeps slots for records that
    /// will never be written.
    /// </summary>
    private void Stop(Exception e, List<PendingAppend> batch, PendingControl? control)
    {
        var error = new StoreUnavailableException($"store {_options.Path} stopped writing: {e.Message}", e);
        _stopped = true;
        _queue.Writer.TryComplete();
        _tally.Clear();

        // First, and guarded: whoever hears below that the store stopped finds its health saying so, and a
        // health handler that throws must not leave anything below unsettled.
        try
        {
            SetHealth(new StoreHealth(false, error.Message, _time.GetUtcNow()));
        }
        catch (Exception again)
        {
            _ = again;
        }

        control?.Fail(error);
        var failed = new List<PendingAppend>(batch);
        batch.Clear();
        while (_queue.Reader.TryRead(out var operation))
        {
            if (operation is PendingAppend append)
            {
                failed.Add(append);
            }
            else
            {
                operation.Fail(error);
            }
        }

        failed.InsertRange(0, _retained);
        _retained.Clear();
        try
        {
            FailAppends(failed, error);
        }
        catch (Exception again)
        {
            // An observer that throws again: the others have heard (NotifyAll); the store is stopped anyway.
            _ = again;
        }
    }

    /// <summary>Moves queued operations into the batch; true when one of them is an awaited append.</summary>
    private bool Drain(ChannelReader<PendingOperation> reader, List<PendingAppend> batch, ref PendingControl? control)
    {
        // A control operation ends the batch so that it sees every append queued before it.
        var awaited = false;
        while (control is null && batch.Count < _options.MaxBatch && reader.TryRead(out var operation))
        {
            if (operation is PendingAppend append)
            {
                batch.Add(append);
                awaited |= append.Done is not null;
                if (append.Observer is not null)
                {
                    _handedDrained++;
                }
            }
            else
            {
                control = (PendingControl)operation;
            }
        }

        return awaited;
    }

    /// <summary>
    /// Commits the batch and settles every record of it — committed, retained for the next attempt, or
    /// failed — and empties it; an unexpected error is rethrown only once the batch is settled (failed),
    /// so that the writer's stop does not settle it twice.
    /// </summary>
    private void CommitAppends(List<PendingAppend> batch)
    {
        long first;
        List<PendingAppend> rows;
        try
        {
            rows = Coalesce(batch);
            first = Commit(rows.Count, i => rows[i], null);
        }
        catch (StoreUnavailableException e)
        {
            _lastFailure = e;
            try
            {
                RetainOrFail(batch, e);
            }
            finally
            {
                batch.Clear();
            }

            return;
        }
        catch (Exception e)
        {
            _tally.Clear();
            var failed = new List<PendingAppend>(batch);
            batch.Clear();
            FailAppends(failed, new StoreUnavailableException($"store {_options.Path} could not write: {e.Message}", e));
            throw;
        }

        _lastFailure = null;
        Interlocked.Add(ref _appendedSinceCheckpoint, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].Done?.TrySetResult(first + i);
        }

        foreach (var append in batch)
        {
            if (append.Observer is { } observer)
            {
                Tally(observer);
            }
        }

        // Durable, and in no list of the writer's once the batch is emptied: their entries serve again.
        foreach (var append in batch)
        {
            _handOvers.Return(append);
        }

        batch.Clear();
        NotifyAll(static (observer, count, _) => observer.Committed(count), null);
    }

    /// <summary>
    /// Tells each tallied observer, then empties the tally. Observers must not throw; one that does still
    /// lets every other hear, and its error is rethrown after them (the writer then stops).
    /// </summary>
    private void NotifyAll(Action<IAppendObserver, int, StoreUnavailableException?> tell, StoreUnavailableException? error)
    {
        Exception? thrown = null;
        foreach (var (observer, count) in _tally)
        {
            try
            {
                tell(observer, count, error);
            }
            catch (Exception e)
            {
                thrown ??= e;
            }
        }

        _tally.Clear();
        if (thrown is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(thrown);
        }
    }

    /// <summary>
    /// The batch's rows: each awaited append is one; the handed-over entries that share a type and client
    /// key become one row whose payload is the JSON array of theirs, in hand-over order, placed where the
    /// first of them was (a row stops taking entries at <see cref="StoreOptions.MaxPayloadBytes"/>, and
    /// the next entry starts another). A batch holds a window's worth of requests from a few clients: a
    /// row, one digest, one chain link and one index entry each serve hundreds of them.
    /// </summary>
    private List<PendingAppend> Coalesce(List<PendingAppend> batch)
    {
        _rows.Clear();
        _groups.Clear();
        if (_entryGroup.Length < batch.Count)
        {
            _entryGroup = new int[Math.Max(batch.Count, _entryGroup.Length * 2)];
        }

        var total = 0L;
        for (var i = 0; i < batch.Count; i++)
        {
            var append = batch[i];
            if (append.Observer is null)
            {
                _entryGroup[i] = -1;
                _rows.Add(append);
                continue;
            }

            var groups = CollectionsMarshal.AsSpan(_groups);
            var length = append.Payload.Length;
            var open = -1;
            for (var g = groups.Length - 1; g >= 0; g--)
            {
                if (groups[g].Open && string.Equals(groups[g].Type, append.Type, StringComparison.Ordinal) && string.Equals(groups[g].Clients, append.Clients, StringComparison.Ordinal))
                {
                    open = g;
                    break;
                }
            }

            if (open >= 0 && (long)groups[open].Bytes + 1 + length > _options.MaxPayloadBytes)
            {
                groups[open].Open = false;
                open = -1;
            }

            if (open < 0)
            {
                // '[' and ']' around the first entry; the row itself is made once its bytes are known.
                _groups.Add(new EntryGroup { Type = append.Type, Clients = append.Clients, Row = _rows.Count, Bytes = 2 + length, Open = true });
                _rows.Add(append);
                total += 2 + length;
                open = _groups.Count - 1;
            }
            else
            {
                groups[open].Bytes += 1 + length;
                total += 1 + length;
            }

            _entryGroup[i] = open;
        }

        if (_groups.Count == 0)
        {
            return _rows;
        }

        // The rows' payloads one after another in a buffer kept for the next batch; a batch of large
        // entries gives each row a buffer of its own instead (a row is at most MaxPayloadBytes, or one entry).
        var shared = total <= MaxKeptJoinBytes;
        if (shared && _joined.Length < total)
        {
            _joined = new byte[Math.Min(Math.Max(total, _joined.Length * 2L), MaxKeptJoinBytes)];
        }

        var all = CollectionsMarshal.AsSpan(_groups);
        var at = 0;
        for (var g = 0; g < all.Length; g++)
        {
            all[g].Buffer = shared ? _joined : new byte[all[g].Bytes];
            all[g].Start = shared ? at : 0;
            all[g].Filled = all[g].Start;
            at += shared ? all[g].Bytes : 0;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (_entryGroup[i] < 0)
            {
                continue;
            }

            ref var group = ref all[_entryGroup[i]];
            var payload = batch[i].Payload.Span;
            group.Buffer![group.Filled] = group.Filled == group.Start ? (byte)'[' : (byte)',';
            payload.CopyTo(group.Buffer.AsSpan(group.Filled + 1));
            group.Filled += 1 + payload.Length;
        }

        foreach (ref var group in all)
        {
            group.Buffer![group.Filled] = (byte)']';
            _rows[group.Row] = PendingAppend.Coalesced(group.Type, group.Clients, group.Buffer.AsMemory(group.Start, group.Bytes));
        }

        return _rows;
    }

    /// <summary>
    /// A batch that could not be committed: awaited appends fail (their callers hear it); handed-over
    /// records are retained for the next attempt and their observers hear that they wait
    /// (<see cref="IAppendObserver.Retrying"/>), up to half of <see cref="StoreOptions.MaxBatch"/>: any beyond
    /// that, the oldest first, are failed.
    /// </summary>
    private void RetainOrFail(List<PendingAppend> batch, StoreUnavailableException error)
    {
        var failed = new List<PendingAppend>();
        foreach (var append in batch)
        {
            if (append.Observer is null)
            {
                failed.Add(append);
            }
            else
            {
                _retained.Add(append);
            }
        }

        // Half a batch at most: the next batch always has room for what is queued behind them (an
        // awaited append, a control operation, the close).
        var excess = _retained.Count - (_options.MaxBatch / 2);
        if (excess > 0)
        {
            failed.AddRange(_retained.GetRange(0, excess));
            _retained.RemoveRange(0, excess);
        }

        FailAppends(failed, error);
        foreach (var append in _retained)
        {
            Tally(append.Observer!);
        }

        NotifyAll(static (observer, count, reason) => observer.Retrying(count, reason!), error);
    }

    private void FailAppends(List<PendingAppend> appends, StoreUnavailableException error)
    {
        foreach (var append in appends)
        {
            if (append.Observer is { } observer)
            {
                Tally(observer);
            }
            else
            {
                append.Fail(error);
            }
        }

        NotifyAll(static (observer, count, reason) => observer.Failed(count, reason!), error);
    }

    // Observers are few (one per kind of caller): a short list, searched by reference.
    private void Tally(IAppendObserver observer)
    {
        for (var i = 0; i < _tally.Count; i++)
        {
            if (ReferenceEquals(_tally[i].Observer, observer))
            {
                _tally[i] = (observer, _tally[i].Count + 1);
                return;
            }
        }

        _tally.Add((observer, 1));
    }

    /// <summary>
    /// Chains and inserts <paramref name="count"/> records and re-signs the head, in one transaction.
    /// State advances only after the commit; on failure the store is marked unwritable and re-reads its
    /// head before the next attempt.
    /// </summary>
    private long Commit(int count, Func<int, PendingAppend> record, Action<SqliteTransaction>? before, SigningKey? signer = null)
    {
        try
        {
            if (_resync)
            {
                var state = ReadState(_connection);
                (_nextIndex, _head, _lastTicks) = (state.NextIndex, state.Head, state.LastTicks);
                _resync = false;
            }

            var index = _nextIndex;
            var ticks = Math.Max(_time.GetUtcNow().UtcTicks, _lastTicks);

            // Slot 0 holds the head the batch chains to, slot i + 1 the hash of row i.
            var size = (count + 1) * RecordHasher.HashSize;
            if (_hashes.Length < size)
            {
                _hashes = new byte[Math.Max(size, _hashes.Length * 2)];
            }

            var hashes = _hashes.AsSpan(0, size);
            _head.CopyTo(hashes);
            Span<byte> content = stackalloc byte[RecordHasher.HashSize];
            for (var i = 0; i < count; i++)
            {
                var row = record(i);
                RecordHasher.ContentDigest(index + i, ticks, row.Type, row.Clients, row.PayloadSha256, content);
                RecordHasher.Link(content, hashes.Slice(i * RecordHasher.HashSize, RecordHasher.HashSize), hashes.Slice((i + 1) * RecordHasher.HashSize, RecordHasher.HashSize));
            }

            var last = hashes.Slice(count * RecordHasher.HashSize, RecordHasher.HashSize).ToArray();
            using (var transaction = _connection.BeginTransaction())
            {
                before?.Invoke(transaction);
                _inserter.Insert(count, index, ticks, record, hashes);
                var key = signer ?? _key;
                var h = _writeHead.Parameters;
                h[0].Value = index + count - 1;
                h[1].Value = ticks;
                h[2].Value = last;
                h[3].Value = key.Id;
                h[4].Value = key.Sign(RecordHasher.TipStatement(index + count - 1, last));
                _writeHead.Transaction = transaction;
                _writeHead.ExecuteNonQuery();
                transaction.Commit();
            }

            var first = _nextIndex;
            (_nextIndex, _head, _lastTicks) = (index + count, last, ticks);
            if (!_health.IsWritable)
            {
                SetHealth(StoreHealth.Healthy(_time.GetUtcNow()));
            }

            return first;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            _resync = true;
            var message = $"store {_options.Path} cannot be written: {e.Message}";
            SetHealth(new StoreHealth(false, message, _time.GetUtcNow()));
            throw new StoreUnavailableException(message, e);
        }
    }

    private long WriteCheckpoint()
    {
        var headIndex = _nextIndex - 1;
        var signature = _key.Sign(RecordHasher.HeadStatement(headIndex, _head));
        var payload = StorePayloads.Checkpoint(headIndex, _head, _key.Id, signature);
        var record = PendingAppend.Internal(RecordTypes.Checkpoint, payload);
        var index = Commit(1, _ => record, null);
        Interlocked.Exchange(ref _appendedSinceCheckpoint, 0);
        return index;
    }

    private long IntroduceKey(SigningKey next, string? previousId, bool endorse, string reason)
    {
        var endorsement = endorse ? _key.Sign(RecordHasher.EndorsementStatement(next.PublicKey)) : null;
        var payload = StorePayloads.KeyRotation(next, previousId, endorsement, reason);
        var record = PendingAppend.Internal(RecordTypes.KeyRotation, payload);
        var index = Commit(1, _ => record, null, next);
        if (!ReferenceEquals(next, _key))
        {
            var old = _key;
            _key = next;
            old.Dispose();
        }

        return index;
    }

    private PurgeResult Purge(Dictionary<string, DateOnly> expired, DateOnly today)
    {
        if (expired.Count == 0)
        {
            return new PurgeResult(0, -1, []);
        }

        List<(long Index, string Clients)> victims;
        IReadOnlyList<PolicyLoadBody> policyLoads;
        using (var loads = _connection.CreateCommand())
        {
            policyLoads = PurgeSelection.PolicyLoads(loads);
        }

        using (var select = _connection.CreateCommand())
        {
            victims = PurgeSelection.Victims(select, expired, today, policyLoads);
        }

        if (victims.Count == 0)
        {
            return new PurgeResult(0, -1, expired.Keys.Order(StringComparer.Ordinal).ToArray());
        }

        // One purge record per client (and one for records of several), each naming only the clients whose
        // records it emptied: an export for one client shows the purge that vouches for its records, and
        // that names no other client nor another client's retention.
        var index = -1L;
        foreach (var (clients, indexes) in PurgeSelection.Groups(victims))
        {
            var named = clients.ToDictionary(c => c, c => expired[c], StringComparer.Ordinal);
            var payload = StorePayloads.Purge(today, named, indexes.Count, indexes[0], indexes[^1], _nextIndex - 1, _head);
            var record = PendingAppend.Internal(RecordTypes.Purge, payload);
            index = Commit(1, _ => record, transaction =>
            {
                using var update = _connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE records SET payload = NULL, encoding = NULL WHERE idx = $idx";
                var parameter = update.Parameters.Add(new SqliteParameter { ParameterName = "$idx" });
                foreach (var victim in indexes)
                {
                    parameter.Value = victim;
                    update.ExecuteNonQuery();
                }
            });
        }

        return new PurgeResult(victims.Count, index, expired.Keys.Order(StringComparer.Ordinal).ToArray());
    }

    private void SetHealth(StoreHealth health)
    {
        _health = health;
        HealthChanged?.Invoke(this, health);
    }

    private static ChainState ReadState(SqliteConnection connection)
    {
        long? headIndex = null;
        byte[]? headHash = null;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT idx, hash FROM head WHERE id = 1";
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                headIndex = reader.GetInt64(0);
                headHash = (byte[])reader.GetValue(1);
            }
        }

        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT idx, time, hash FROM records ORDER BY idx DESC LIMIT 1";
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return headIndex is null
                    ? new ChainState(0, new byte[RecordHasher.HashSize], 0, null)
                    : throw new StoreUnavailableException("the store's records are gone but its signed head remains (truncated); run 'segctl log verify'");
            }

            var lastIndex = reader.GetInt64(0);
            var lastTicks = reader.GetInt64(1);
            var lastHash = (byte[])reader.GetValue(2);
            if (headIndex != lastIndex || headHash is null || !headHash.AsSpan().SequenceEqual(lastHash))
            {
                throw new StoreUnavailableException("the store's last record does not match its signed head (tampered or truncated); run 'segctl log verify'");
            }

            return new ChainState(lastIndex + 1, lastHash, lastTicks, ReadChainKeyId(connection));
        }
    }

    private static string? ReadChainKeyId(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload, encoding FROM records WHERE type = 'key-rotation' ORDER BY idx DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read() && PayloadEncoding.Read(reader, 0, 1) is { } payload ? StorePayloads.ParseKeyRotation(payload)?.KeyId : null;
    }

    // Handed-over entries of one type and client key on their way into one row: the row's position among
    // the batch's rows, its payload's length, whether it still takes entries, and where its bytes go.
    private struct EntryGroup
    {
        public string Type;
        public string? Clients;
        public int Row;
        public int Bytes;
        public bool Open;
        public byte[]? Buffer;
        public int Start;
        public int Filled;
    }
}
