using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using SegmentController.Api;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Proxy;

/// <summary>
/// Writes the kill switch's history to the tamper-evident store: a <c>suspension</c> record for every
/// trip (when acknowledged, <c>tripped</c>; when its last stage ran, <c>enforced</c>, with every stage's
/// timing and the switch ports as read back), every suspension found in force at start-up
/// (<c>in-force-at-start</c>) and every port reassertion (<c>ports-reasserted</c>, at a start, after a
/// reload that gave a suspended client new ports, or a retry that read ports back down which an earlier shut
/// had not; a retry that fails is not recorded), and every release of ports a reload took away from a
/// suspended client (<c>ports-released</c>: brought up for a client not suspended or whose ports are not to be shut, or left shut); a <c>restoration</c>
/// record for every restore request, approval and completion, and for a retry that brought up a client's ports
/// which the restore's own bring-up had not read back up (<c>ports-brought-up</c>, under the restore that owed the
/// bring-up, also when a later start brought them up; a retry that fails is not recorded).
/// </summary>
/// <remarks>
/// A client's records are kept under its key and go in full into its evidence export: what an operator
/// wrote on them (a trip's or retrip's reason, a restore's reason) is that client's view of the text,
/// other clients' ids, names, addresses, hosts, VLANs, ports and MACs replaced (<see cref="ClientRedactor"/>,
/// under the policy in force when written). The suspension state file, the API and the log keep the
/// operator's words as written. A site-wide suspension's records concern every client and keep them too.
/// <para>
/// Order and durability: the trip's acknowledgement is the state file's fsync (the engine), and it never
/// waits for the store. The records are queued in the order the engine reports them and one writer
/// appends them one after another, each durable (committed and chained) before the next is handed over;
/// so a suspension's record is on disk a store batch (milliseconds) after the acknowledgement. A store
/// that is not open yet or cannot write keeps the records queued (at most <see cref="Capacity"/>) and the
/// writer retries them, in order, once it can. A crash in between loses at most the queued records; the
/// next start writes <c>in-force-at-start</c> from the state file for every suspension still in force.
/// </para>
/// </remarks>
internal sealed partial class SuspensionRecorder : ISuspensionObserver, IHostedService, IAsyncDisposable
{
    /// <summary>Records queued and not yet written, at most.</summary>
    public const int Capacity = 4096;

    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    // A store that cannot write at shutdown must not hold the host for its whole shutdown timeout.
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(5);

    private readonly IRecordAppender _store;
    private readonly IPolicyProvider _policy;
    private readonly TimeProvider _time;
    private readonly ILogger<SuspensionRecorder> _logger;
    private readonly Channel<PendingRecord> _queue = Channel.CreateBounded<PendingRecord>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;
    private TaskCompletionSource _writable = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    // At start the engine reports the suspensions in force before the store has opened: until the store says
    // whether it opened, a record waiting for it is the ordinary order of a start, not a delay to report.
    private volatile bool _storeOpening;

    public SuspensionRecorder(IRecordAppender store, IPolicyProvider policy, TimeProvider time, ILogger<SuspensionRecorder> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _policy = policy;
        _time = time;
        _logger = logger;
        _storeOpening = !store.Health.IsWritable;
        _store.HealthChanged += OnHealthChanged;
        _writer = Task.Run(WriteAsync);
    }

    public void Tripped(SuspensionRecord record) =>
        Enqueue(RecordTypes.Suspension, record.Scope, (w, own) => WriteSuspension(w, "tripped", record, own));

    public void Retripped(SuspensionRecord record, TripRequest request, PendingRestore? withdrawn) =>
        Enqueue(RecordTypes.Suspension, record.Scope, (w, own) =>
        {
            WriteSuspension(w, "retripped", record, own, close: false);
            w.WriteStartObject("retrip");
            w.WriteString("trigger", SuspensionNames.Of(request.Trigger));
            w.WriteString("actor", request.Actor);
            w.WriteString("reason", own(request.Reason));
            if (request.Rule is not null)
            {
                w.WriteString("rule", request.Rule);
            }

            w.WriteString("at", _time.GetUtcNow());
            w.WriteEndObject();
            if (withdrawn is not null)
            {
                w.WriteStartObject("withdrawn_restore");
                w.WriteString("requested_by", withdrawn.RequestedBy);
                w.WriteString("reason", own(withdrawn.Reason));
                w.WriteString("requested_at", withdrawn.RequestedAt);
                WriteStrings(w, "approvers", withdrawn.Approvers);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        });

    public void InForceAtStart(SuspensionRecord record) =>
        Enqueue(RecordTypes.Suspension, record.Scope, (w, own) => WriteSuspension(w, "in-force-at-start", record, own));

    public void StageCompleted(SuspensionRecord record, StageTiming timing)
    {
        // Every stage is in the tripped (local stages) or enforced (all stages) record.
    }

    public void Enforced(SuspensionRecord record) =>
        Enqueue(RecordTypes.Suspension, record.Scope, (w, own) => WriteSuspension(w, "enforced", record, own));

    public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion) =>
        Enqueue(RecordTypes.Suspension, record.Scope, (w, own) =>
        {
            WriteSuspension(w, "ports-reasserted", record, own, close: false);
            w.WriteStartObject("reassertion");
            w.WriteString("at", reassertion.At);
            w.WriteNumber("seconds", reassertion.Duration.TotalSeconds);
            w.WriteBoolean("verified", reassertion.Verified);
            w.WriteString("cause", SuspensionNames.Of(reassertion.Cause));
            WriteStrings(w, "clients", reassertion.Clients);
            WriteStrings(w, "ports", reassertion.Ports);
            WriteStrings(w, "failures", reassertion.Failures);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    // Not the owners: this record is under the suspended client's key and goes into its evidence export.
    public void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners) =>
        Enqueue(RecordTypes.Suspension, record.Scope, (w, own) =>
        {
            WriteSuspension(w, "ports-released", record, own, close: false);
            w.WriteStartObject("release");
            w.WriteString("at", release.At);
            w.WriteString("cause", "policy-reload");
            w.WriteString("from", release.From);
            WriteStrings(w, "brought_up", release.BroughtUp);
            WriteStrings(w, "left_shut", release.LeftShut);
            w.WriteBoolean("verified", release.Verified);
            WriteStrings(w, "failures", release.Failures);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    public void RestoreRequested(SuspensionRecord suspension, PendingRestore pending) =>
        Enqueue(RecordTypes.Restoration, suspension.Scope, (w, own) =>
        {
            WriteRestoration(w, "requested", suspension, pending.RequestedBy, own(pending.Reason), pending.Approvers);
            w.WriteString("requested_at", pending.RequestedAt);
            w.WriteEndObject();
        });

    public void RestoreApproved(SuspensionRecord suspension, PendingRestore pending, string approver) =>
        Enqueue(RecordTypes.Restoration, suspension.Scope, (w, own) =>
        {
            WriteRestoration(w, "approved", suspension, pending.RequestedBy, own(pending.Reason), pending.Approvers);
            w.WriteString("approver", approver);
            w.WriteString("at", _time.GetUtcNow());
            w.WriteEndObject();
        });

    public void Restored(RestoreRecord record) =>
        Enqueue(RecordTypes.Restoration, record.Suspension.Scope, (w, own) =>
        {
            WriteRestoration(w, "restored", record.Suspension, record.RequestedBy, own(record.Reason), record.Approvers);
            w.WriteString("restored_at", record.RestoredAt);
            WritePorts(w, record.Ports);
            w.WriteEndObject();
        });

    public void PortsBroughtUp(RestoreRecord restore, PortBringUp bringUp) =>
        Enqueue(RecordTypes.Restoration, restore.Suspension.Scope, (w, own) =>
        {
            WriteRestoration(w, "ports-brought-up", restore.Suspension, restore.RequestedBy, own(restore.Reason), restore.Approvers);
            w.WriteString("restored_at", restore.RestoredAt);
            w.WriteString("client", bringUp.Client);
            w.WriteString("at", bringUp.At);
            w.WriteNumber("seconds", bringUp.Duration.TotalSeconds);
            WritePorts(w, bringUp.Ports);
            w.WriteEndObject();
        });

    public void StateUnreadable(string message)
    {
        // The fail-closed suspension it causes is reported (and recorded) as a trip with its reason.
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Writes what is queued (the store closes after this service), until the host gives up waiting.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(_store.Health.IsWritable ? StopPatience : TimeSpan.Zero);
        try
        {
            await _writer.WaitAsync(patience.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Registered as a singleton, an observer and a hosted service: the container disposes it once per registration.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _store.HealthChanged -= OnHealthChanged;
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _writer.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped with records still queued; each was logged as not recorded.
        }

        _stopping.Dispose();
    }

    private static void WriteSuspension(Utf8JsonWriter w, string @event, SuspensionRecord record, Func<string, string> own, bool close = true)
    {
        w.WriteStartObject();
        w.WriteString("event", @event);
        w.WriteString("suspension_id", record.Id);
        ApiJson.WriteSuspensionProperties(w, record with { Reason = own(record.Reason) });
        WritePorts(w, record.Ports);
        if (close)
        {
            w.WriteEndObject();
        }
    }

    private static void WriteRestoration(Utf8JsonWriter w, string @event, SuspensionRecord suspension, string requestedBy, string reason, IReadOnlyList<string> approvers)
    {
        w.WriteStartObject();
        w.WriteString("event", @event);
        w.WriteString("suspension_id", suspension.Id);
        w.WriteString("scope", suspension.Scope);
        w.WriteString("trigger", SuspensionNames.Of(suspension.Trigger));
        w.WriteString("tripped_at", suspension.TrippedAt);
        w.WriteString("requested_by", requestedBy);
        w.WriteString("reason", reason);
        WriteStrings(w, "approvers", approvers);
    }

    private static void WritePorts(Utf8JsonWriter w, PortActionResult? ports)
    {
        if (ports is null)
        {
            return;
        }

        w.WriteStartObject("ports");
        w.WriteBoolean("verified", ports.Verified);
        WriteStrings(w, "failures", ports.Failures);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private void Enqueue(string type, string scope, Action<Utf8JsonWriter, Func<string, string>> write)
    {
        var siteWide = string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (siteWide)
            {
                write(writer, static text => text);
            }
            else
            {
                var own = new ClientRedactor(scope, [], _policy.Current);
                write(writer, own.Redact);
            }
        }

        var clients = siteWide ? null : ClientKey.Of([scope]);
        if (!_queue.Writer.TryWrite(new PendingRecord(type, clients, buffer.WrittenMemory.ToArray())))
        {
            Log.NotRecorded(_logger, type, scope, "the queue of unwritten records is full or the controller is stopping");
        }
    }

    private async Task WriteAsync()
    {
        var stopping = _stopping.Token;
        try
        {
            await foreach (var record in _queue.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                var reported = false;
                while (true)
                {
                    var writable = Volatile.Read(ref _writable).Task;
                    try
                    {
                        await _store.AppendAsync(record.Type, record.Clients, record.Payload, stopping).ConfigureAwait(false);
                        if (reported)
                        {
                            Log.RecordedLate(_logger, record.Type, record.Clients ?? SuspensionNames.AllClients);
                        }

                        break;
                    }
                    catch (StoreUnavailableException e)
                    {
                        if (!reported && !_storeOpening)
                        {
                            Log.Delayed(_logger, record.Type, record.Clients ?? SuspensionNames.AllClients, e.Message);
                            reported = true;
                        }

                        // Kept, in order: retried when the store says it can write again, or after a while.
                        await Task.WhenAny(writable, Task.Delay(RetryInterval, _time, stopping)).ConfigureAwait(false);
                        stopping.ThrowIfCancellationRequested();
                    }
                    catch (ArgumentException e)
                    {
                        Log.NotRecorded(_logger, record.Type, record.Clients ?? SuspensionNames.AllClients, e.Message);
                        break;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            while (_queue.Reader.TryRead(out var lost))
            {
                Log.NotRecorded(_logger, lost.Type, lost.Clients ?? SuspensionNames.AllClients, "the controller stopped before the store could take it");
            }
        }
    }

    private void OnHealthChanged(object? sender, StoreHealth health)
    {
        _storeOpening = false;
        if (health.IsWritable)
        {
            Interlocked.Exchange(ref _writable, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private sealed record PendingRecord(string Type, string? Clients, byte[] Payload);

    private static partial class Log
    {
        [LoggerMessage(EventIds.SuspensionRecordDelayed, LogLevel.Error, "{Type} record for {Scope} waits for the evidence store ({Reason}); the suspension state file holds it meanwhile")]
        public static partial void Delayed(ILogger logger, string type, string scope, string reason);

        [LoggerMessage(EventIds.SuspensionRecordWrittenLate, LogLevel.Warning, "{Type} record for {Scope} written to the evidence store after a delay")]
        public static partial void RecordedLate(ILogger logger, string type, string scope);

        [LoggerMessage(EventIds.SuspensionNotRecorded, LogLevel.Critical, "{Type} record for {Scope} NOT written to the evidence store: {Reason}")]
        public static partial void NotRecorded(ILogger logger, string type, string scope, string reason);
    }
}
