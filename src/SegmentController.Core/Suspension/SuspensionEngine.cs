using System.Globalization;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Suspension;

/// <summary>
/// The kill switch. Holds the suspensions in force (per client and site-wide), trips and restores them,
/// and drives the enforcement stages.
/// </summary>
/// <remarks>
/// Concurrency: <see cref="Current"/> is an immutable snapshot swapped with a volatile write, so the
/// proxy's gates read it lock-free. Trips and restores are serialized by one semaphore; a trip is saved
/// durably before the new state is published and before <see cref="TripAsync"/> returns (the
/// acknowledgement). Changes of the bring-ups restores owe and of the records of suspensions in force (stage
/// timings, ports read back, reassertions, releases) are put in force under the semaphore and saved by one flusher
/// outside it (one save per burst, numbered so an older state never overwrites a newer one, tried again until the
/// file has them): a trip waits at most for the one such save already writing, which runs at the trip's priority.
/// Fail closed: state that cannot be read puts the site-wide switch on.
/// Switch ports that a shut did not read back down are tried again while their suspension is in force
/// (<see cref="FirstPortRetry"/>, doubling up to <see cref="PortRetryCap"/>), owning those ports like every
/// shut and bring-up does (and no others); a restore stops them.
/// </remarks>
public sealed class SuspensionEngine : ISuspensionView, IDisposable
{
    private readonly ISuspensionStateStore _store;
    private readonly IPolicyProvider _policy;
    private readonly ISuspensionEnforcer[] _enforcers;
    private readonly IPortShutter? _ports;
    private readonly ISuspensionNotifier[] _notifiers;
    private readonly ISuspensionObserver[] _observers;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);

    // Switch port work (shut, bring up, reassert, retry) owns the ports it touches while it runs, one piece
    // of work per port at a time, and reads the state in force once it owns a client's ports: whichever of a
    // trip and a restore runs second on a port sees the other's state, so the port ends as the last state
    // says. Work on other ports (another client, another switch) never waits for it: a retry held up in the
    // SNMP timeouts of a switch that hangs delays no trip, restore or reassertion of other ports.
    private readonly PortLocks _portLocks = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _background = new();
    private SuspensionState _state;
    private int _disposed;
    private int _resumed;

    // Saves of the state run one at a time (the store writes its two slots in turn), each of a state numbered under
    // _lock in the order the states came about: a save whose state is older than the one last written is skipped
    // (that one carries it), so a later state in the file is never overwritten by an earlier one. A trip saves under
    // _lock; the flusher of the changes not yet in the file saves outside it, so a trip waits at most for the one
    // save of theirs already writing, never for those queued. _stateVersion under _lock, _savedVersion under _saveLock.
    private readonly Lock _saveLock = new();
    private long _stateVersion;
    private long _savedVersion;

    // Changes in force but not in the state file yet, each with the number of the state that changed it last: the
    // clients whose bring-up owed changed, and the suspensions (by id) whose record in force was amended. Then
    // whether the flusher saving them runs, what wakes it from its wait after a failed save, and the outcome of its
    // next save (true when the file has them). Any save writes the whole state, so a trip's or a restore's save
    // carries them too. Under _lock.
    private readonly Dictionary<string, long> _owedUnsaved = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _amendedUnsaved = new(StringComparer.Ordinal);
    private bool _flushing;
    private TaskCompletionSource _flushWake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool> _flushed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The policy whose switch ports the suspensions in force have had shut (at their trip, at start-up or
    // at the last reload): a reload shuts the ports it adds to a suspended client against this one.
    private SitePolicy _portPolicy;
    private readonly Lock _reloadPorts = new();
    private Task _portWork = Task.CompletedTask;

    // Ports the last shut of them did not read back down, by the id of the suspension (in force) that wants
    // them shut. Changed under _retryLock, and by shuts only while they own the ports: a port's entry
    // follows the shuts of that port in the order they ran. Each entry has one loop trying its ports again
    // until none is left, the suspension is lifted or the engine is disposed.
    private readonly Dictionary<string, PortRetry> _retries = new(StringComparer.Ordinal);
    private readonly Lock _retryLock = new();

    // Clients a restore lifted whose ports its bring-up did not read back up, each with the loop trying them
    // again (cancelled by the client's next restore, which brings them up itself, and by disposal). Changed
    // under _retryLock.
    private readonly Dictionary<string, CancellationTokenSource> _bringUps = new(StringComparer.Ordinal);

    // Trips whose last stages (switch ports, webhooks) still run, by suspension id: ended once the observers
    // have the trip's enforced record. Later port work of the suspension reports what it shut only after
    // that, so the records read in the order trip, enforced, reassertions and retries.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task> _enforcing = new(StringComparer.Ordinal);

    // A suspension's port work after its trip's own shut (reassertions at a start or a reload, tries of its
    // retry), by suspension id, under _retryLock: one piece at a time, each reported in the order it ran (and
    // a reload's release of ports taken from it, in the order it was done).
    private readonly Dictionary<string, SuspensionPortWork> _suspensionWork = new(StringComparer.Ordinal);

    // Suspensions in force at start whose trip's webhooks never ran to their end (the controller was killed or
    // stopped after the acknowledgement, before them: the record has no webhooks stage), and the fail-closed
    // suspension of this start: ReassertAsync sends them, once, after shutting the ports again.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _webhooksOwed = new(StringComparer.Ordinal);

    public SuspensionEngine(
        ISuspensionStateStore store,
        IPolicyProvider policy,
        IEnumerable<ISuspensionEnforcer> enforcers,
        IEnumerable<IPortShutter> portShutters,
        IEnumerable<ISuspensionNotifier> notifiers,
        IEnumerable<ISuspensionObserver> observers,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(enforcers);
        ArgumentNullException.ThrowIfNull(portShutters);
        ArgumentNullException.ThrowIfNull(notifiers);
        ArgumentNullException.ThrowIfNull(observers);
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _policy = policy;
        _enforcers = [.. enforcers];
        _ports = portShutters.FirstOrDefault();
        _notifiers = [.. notifiers];
        _observers = [.. observers];
        _time = time;
        _portPolicy = policy.Current;

        var load = store.Load();
        var orphans = load.State is null ? [] : Orphans(load.State, policy.Current).ToArray();
        // Fail closed: the site-wide switch goes on, as a trip of this start, with the reason.
        string? trippedAtStart = null;
        SuspensionState FailClosed(SuspensionState from, string why)
        {
            trippedAtStart = NewId();
            foreach (var observer in _observers)
            {
                observer.StateUnreadable(why);
            }

            return from.WithoutOwedCoveredBy(SuspensionNames.AllClients).With(new SuspensionRecord
            {
                Id = trippedAtStart,
                Scope = SuspensionNames.AllClients,
                Trigger = SuspensionTrigger.StateUnreadable,
                Actor = "controller",
                Reason = why,
                TrippedAt = time.GetUtcNow(),
            });
        }

        // Suspended clients the policy no longer has (edited while the controller was down): their
        // agents' addresses may now be another client's. Lifting the switch takes the normal restore,
        // after the policy or the suspensions are put right.
        _state = load.State switch
        {
            { } state when orphans.Length == 0 || state.AllSuspended => state,
            { } state => FailClosed(state, $"suspended client(s) {string.Join(", ", orphans)} not in the policy: a client renamed or replaced while suspended would pass unsuspended"),
            null => FailClosed(SuspensionState.Empty, load.Error ?? "suspension state unreadable"),
        };

        // A reload must not drop a suspended client: its agents' addresses could then belong to a renamed
        // or new client that nothing suspends. Lifting it first is the way.
        if (policy is PolicyProvider reloadable)
        {
            reloadable.AddAdmission(candidate => Orphans(Current, candidate)
                .Select(scope => $"client '{scope}' is suspended and this policy no longer has it; restore it first (a client renamed or replaced while suspended would pass unsuspended)"));
        }

        policy.PolicyChanged += OnPolicyChanged;

        foreach (var record in _state.Suspensions.Values.Where(r => !r.Stages.Any(s => s.Stage == SuspensionStage.Webhooks)))
        {
            _webhooksOwed[record.Id] = 0;
        }

        // A fail-closed suspension made just above is a trip of this start; the others were tripped
        // before it and only resume.
        foreach (var record in _state.Suspensions.Values)
        {
            foreach (var observer in _observers)
            {
                if (string.Equals(record.Id, trippedAtStart, StringComparison.Ordinal))
                {
                    observer.Tripped(record);
                }
                else
                {
                    observer.InForceAtStart(record);
                }
            }
        }
    }

    /// <summary>The wait before switch ports that did not read back down are first tried again; it doubles after each try that fails.</summary>
    public static TimeSpan FirstPortRetry { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between tries of switch ports that still do not read back down.</summary>
    public static TimeSpan PortRetryCap { get; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public SuspensionState Current => Volatile.Read(ref _state);

    /// <summary>True when the client may not pass.</summary>
    public bool IsSuspended(string clientId) => Current.IsSuspended(clientId);

    /// <summary>
    /// The client's switch ports that the last shut of them did not read back down and that are being tried
    /// again (<see cref="FirstPortRetry"/>, backing off to <see cref="PortRetryCap"/>), as <c>switch:port</c>,
    /// in order; empty when none is.
    /// </summary>
    public IReadOnlyList<string> PortsPendingRetry(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        lock (_retryLock)
        {
            return _retries.Values
                .SelectMany(r => r.Ports.TryGetValue(clientId, out var pending) ? pending : [])
                .Select(p => $"{p.Switch}:{p.Port}")
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToArray();
        }
    }

    /// <summary>
    /// Suspends a client or the site. Returns (acknowledges) once the trip is durable and the gate,
    /// in-flight and upstream-pool stages have run; switch ports and webhooks follow in
    /// <see cref="TripResult.Completion"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown client, or no actor or reason.</exception>
    /// <exception cref="IOException">The trip could not be made durable: it is not acknowledged (and not in force).</exception>
    public async Task<TripResult> TripAsync(TripRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Actor, nameof(request));
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Reason, nameof(request));
        ValidateScope(request.Scope);

        SuspensionRecord record;
        var created = false;
        PendingRestore? withdrawn = null;
        IOException? retripNotSaved = null;
        var enforced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The persist stage counts from here: the wait for the engine lock (another trip's or a restore's save)
        // is part of what the trip's acknowledgement waited for.
        var started = _time.GetTimestamp();
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var waited = _time.GetElapsedTime(started);

        // Synchronous from here to the acknowledgement, at real-time priority where permitted: a busy
        // machine must not make the trip wait for a time slice.
        var priority = TripPriority.Raise();
        try
        {
            // Again under the lock: a reload refuses a policy without a suspended client only if the
            // trip is in force when it checks; one that came between the first check and here wins.
            ValidateScope(request.Scope);
            var current = _state;
            if (current.Suspensions.TryGetValue(request.Scope, out var existing))
            {
                (record, withdrawn, var changed, retripNotSaved) = Retrip(current, existing, request);
                if (!changed)
                {
                    return new TripResult { Record = record, Created = false, Completion = Task.FromResult(record) };
                }
            }
            else
            {
                var now = _time.GetUtcNow();
                record = new SuspensionRecord
                {
                    Id = NewId(),
                    Scope = request.Scope,
                    Trigger = request.Trigger,
                    Actor = request.Actor,
                    Reason = request.Reason,
                    Rule = request.Rule,
                    TrippedAt = now,
                    FailedAuditAt = request.Trigger == SuspensionTrigger.Audit ? now : null,
                };
                var next = current.With(record).WithoutPending(request.Scope).WithoutOwedCoveredBy(request.Scope);
                Save(next);

                // Before it is in force: port work of this suspension that a reload starts at once reports
                // after the trip's enforced record.
                _enforcing[record.Id] = enforced.Task;
                Volatile.Write(ref _state, next);
                var stages = new List<StageTiming>(4)
                {
                    new()
                    {
                        Stage = SuspensionStage.Persist,
                        Duration = _time.GetElapsedTime(started),
                        Succeeded = true,
                        Detail = PersistDetail(waited, priority.Raised),
                    },
                };
                foreach (var stage in (ReadOnlySpan<SuspensionStage>)[SuspensionStage.Gate, SuspensionStage.InFlight, SuspensionStage.UpstreamPool])
                {
                    stages.Add(RunLocalStage(stage, request.Scope));
                }

                record = record with { Stages = stages };
                Volatile.Write(ref _state, _state.With(record));
                created = true;
            }
        }
        finally
        {
            priority.Dispose();
            _lock.Release();
        }

        if (!created)
        {
            // Reported even when it could not be saved: it is in force, and the store's record says so.
            foreach (var observer in _observers)
            {
                observer.Retripped(record, request, withdrawn);
            }

            if (retripNotSaved is not null)
            {
                throw new IOException($"'{request.Scope}' stays suspended, but this trip's change could not be saved: {retripNotSaved.Message}", retripNotSaved);
            }

            return new TripResult { Record = record, Created = false, Completion = Task.FromResult(record) };
        }

        foreach (var observer in _observers)
        {
            observer.Tripped(record);
            foreach (var timing in record.Stages)
            {
                observer.StageCompleted(record, timing);
            }
        }

        var completion = Track(Task.Run(() => RunRemoteStagesAsync(record, enforced, _stopping.Token), CancellationToken.None));
        return new TripResult { Record = record, Created = true, Completion = completion };
    }

    /// <summary>
    /// What a trip's persist stage notes: the part of it spent waiting for the engine lock (from a millisecond on),
    /// and why the trip ran at normal priority, if it did. Null when neither.
    /// </summary>
    private static string? PersistDetail(TimeSpan waited, bool raised)
    {
        var parts = new List<string>(2);
        if (waited >= TimeSpan.FromMilliseconds(1))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"waited {waited.TotalMilliseconds:0.###} ms for the engine lock"));
        }

        if (!raised)
        {
            parts.Add($"normal priority: {TripPriority.Problem ?? "the thread runs under another policy"}");
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>
    /// A trip for a scope already suspended (caller holds the lock). There is nothing new to enforce, but
    /// it is a new event: approvals given for a restore before it no longer count (the pending restore is
    /// withdrawn), and a failed audit must be followed by a passing one before any restore. Either change
    /// is saved before the trip returns; when the save fails the change is in force all the same (a
    /// stricter state than the file's), it is reported to the observers, and the caller gets the error.
    /// Anything else changes nothing.
    /// </summary>
    private (SuspensionRecord Record, PendingRestore? Withdrawn, bool Changed, IOException? NotSaved) Retrip(SuspensionState current, SuspensionRecord existing, TripRequest request)
    {
        var record = request.Trigger == SuspensionTrigger.Audit ? existing with { FailedAuditAt = _time.GetUtcNow() } : existing;
        current.PendingRestores.TryGetValue(request.Scope, out var withdrawn);
        if (ReferenceEquals(record, existing) && withdrawn is null)
        {
            return (existing, null, false, null);
        }

        var next = current.With(record).WithoutPending(request.Scope);
        IOException? notSaved = null;
        try
        {
            Save(next);
        }
        catch (Exception e)
        {
            // Whatever failed, the stricter state is the one in force (a withdrawn approval must not count).
            notSaved = e as IOException ?? new IOException(e.Message, e);
        }

        Volatile.Write(ref _state, next);
        return (record, withdrawn, true, notSaved);
    }

    /// <summary>
    /// Asks for a suspension to be lifted. The requester counts as the first approver; when the policy
    /// wants more (<see cref="RestoreSettings.Approvers"/>), different people must
    /// <see cref="ApproveRestoreAsync(string, string, CancellationToken)">approve</see>. Authorization of the operator is the caller's
    /// (the operator API's) job; the engine insists on a name and a reason.
    /// </summary>
    public Task<RestoreOutcome> RequestRestoreAsync(string scope, string requester, string reason, CancellationToken cancellationToken) =>
        RequestRestoreAsync(scope, restoreId: null, requester, reason, cancellationToken);

    /// <summary>
    /// Asks for the suspension with id <paramref name="restoreId"/> to be lifted: refused when the
    /// suspension of <paramref name="scope"/> in force is another one (lifted and tripped again since the
    /// caller looked), so a request never lands on a suspension its requester did not name.
    /// </summary>
    public async Task<RestoreOutcome> RequestRestoreAsync(string scope, string? restoreId, string requester, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (string.IsNullOrWhiteSpace(requester))
        {
            return Refused("a restore needs an identified operator");
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            return Refused("a restore needs a reason");
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        PendingRestore pending;
        SuspensionRecord suspension;
        RestoreOutcome? saved;
        try
        {
            if (!_state.Suspensions.TryGetValue(scope, out var record))
            {
                return Refused($"'{scope}' is not suspended");
            }

            if (SuspensionChanged(scope, record, restoreId) is { } changed)
            {
                return changed;
            }

            if (AuditMissing(scope, record) is { } auditMessage)
            {
                return Refused(auditMessage);
            }

            suspension = record;
            pending = new PendingRestore
            {
                SuspensionId = record.Id,
                RequestedBy = requester.Trim(),
                Reason = reason,
                RequestedAt = _time.GetUtcNow(),
                Approvers = [requester.Trim()],
            };
            saved = SavePendingOrLift(scope, pending);
        }
        finally
        {
            _lock.Release();
        }

        if (saved is not null)
        {
            if (saved.Status == RestoreStatus.PendingApproval)
            {
                foreach (var observer in _observers)
                {
                    observer.RestoreRequested(suspension, pending);
                }
            }

            return saved;
        }

        return await CompleteRestoreAsync(scope, suspension, pending, requested: true).ConfigureAwait(false);
    }

    /// <summary>Adds an approval to the restore pending for a scope; the same person approving twice is refused.</summary>
    public Task<RestoreOutcome> ApproveRestoreAsync(string scope, string approver, CancellationToken cancellationToken) =>
        ApproveAsync(scope, approver, expected: null, cancellationToken);

    /// <summary>
    /// Adds an approval to one restore request: the one the approver saw (<paramref name="seen"/>, null when
    /// none was pending) for the suspension with id <paramref name="restoreId"/>. Refused when the suspension
    /// in force is another one, or the request pending now is not the one seen (a re-trip withdrew it and a
    /// new one was made, or none was pending): an approval counts only for what the approver agreed to.
    /// </summary>
    public Task<RestoreOutcome> ApproveRestoreAsync(string scope, string restoreId, PendingRestore? seen, string approver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(restoreId);
        return ApproveAsync(scope, approver, (restoreId, seen), cancellationToken);
    }

    private async Task<RestoreOutcome> ApproveAsync(string scope, string approver, (string RestoreId, PendingRestore? Seen)? expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (string.IsNullOrWhiteSpace(approver))
        {
            return Refused("an approval needs an identified operator");
        }

        PendingRestore pending;
        SuspensionRecord suspension;
        RestoreOutcome? saved;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_state.Suspensions.TryGetValue(scope, out var record))
            {
                return Refused($"'{scope}' is not suspended");
            }

            if (expected is { } named && SuspensionChanged(scope, record, named.RestoreId) is { } changed)
            {
                return changed;
            }

            if (!_state.PendingRestores.TryGetValue(scope, out var found) || !string.Equals(found.SuspensionId, record.Id, StringComparison.Ordinal))
            {
                return Refused($"no restore of '{scope}' has been requested");
            }

            if (expected is { } approved && !SameRequest(found, approved.Seen))
            {
                return Refused(approved.Seen is null
                    ? $"no restore of '{scope}' had been requested when this approval was made; look at the restore pending now and approve it if you agree"
                    : $"the restore of '{scope}' asked for by {approved.Seen.RequestedBy} is no longer pending (a new trip withdrew it, or a restore was asked for again); look at the one pending now (asked for by {found.RequestedBy}) and approve it if you agree");
            }

            // Names compare without case: "alice" and "Alice" are one person, not two approvers.
            if (found.Approvers.Contains(approver.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                return Refused($"{approver} has already agreed to this restore; a different person must approve") with { Approvers = found.Approvers };
            }

            if (AuditMissing(scope, record) is { } auditMessage)
            {
                return Refused(auditMessage);
            }

            suspension = record;
            pending = found with { Approvers = [.. found.Approvers, approver.Trim()] };
            saved = SavePendingOrLift(scope, pending);
        }
        finally
        {
            _lock.Release();
        }

        if (saved is not null)
        {
            if (saved.Status == RestoreStatus.PendingApproval)
            {
                foreach (var observer in _observers)
                {
                    observer.RestoreApproved(suspension, pending, pending.Approvers[^1]);
                }
            }

            return saved;
        }

        return await CompleteRestoreAsync(scope, suspension, pending, requested: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Re-asserts the suspensions read from the durable state at start-up: the switch ports of every
    /// client they cover are shut again and read back (someone may have brought a port up while no
    /// controller was running), and each suspension's record notes it. The gates need nothing: they read
    /// the state, which was closed before the first connection. Returns the reassertions made.
    /// </summary>
    public async Task<IReadOnlyList<PortReassertion>> ReassertAsync(CancellationToken cancellationToken)
    {
        await ResumeBringUpsAsync(cancellationToken).ConfigureAwait(false);
        var made = new List<PortReassertion>();
        foreach (var record in Current.Suspensions.Values.OrderBy(r => r.TrippedAt))
        {
            var targets = ClientsIn(record.Scope).Where(c => c.Kill.ShutPorts).Select(c => new PortTarget(c, c.PortsToShut())).ToArray();
            if (targets.Length > 0)
            {
                var (reassertion, reported) = await ReassertPortsAsync(record, targets, PortReassertionCause.Start, cancellationToken).ConfigureAwait(false);
                await reported.ConfigureAwait(false);
                made.Add(reassertion);
            }

            if (_webhooksOwed.TryRemove(record.Id, out _))
            {
                await SendOwedWebhooksAsync(record, cancellationToken).ConfigureAwait(false);
            }
        }

        return made;
    }

    /// <summary>
    /// The webhooks of a trip that a stop (a kill, or a stop) kept from running, or of this start's fail-closed
    /// suspension: sent while the suspension is still in force, and the webhooks stage put on its record (durably),
    /// so the next start does not send them again. A stop after they were sent and before the record was saved
    /// sends them once more at the next start: a receiver may hear a trip twice (same <c>id</c>), never not at all.
    /// </summary>
    private async Task SendOwedWebhooksAsync(SuspensionRecord record, CancellationToken cancellationToken)
    {
        if (!Current.Suspensions.TryGetValue(record.Scope, out var inForce) || !string.Equals(inForce.Id, record.Id, StringComparison.Ordinal))
        {
            return;
        }

        var stage = await SendWebhooksAsync(inForce, "sent at start: the controller stopped before the trip's webhooks ran", cancellationToken).ConfigureAwait(false);
        NotifyStage(inForce, stage);
        await AmendInForceAsync(inForce, r => r with { Stages = [.. r.Stages, stage] }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The webhooks stage: every notifier told of the trip <paramref name="record"/>; a failing one fails the stage, never the others.</summary>
    private async Task<StageTiming> SendWebhooksAsync(SuspensionRecord record, string? detailWhenSent, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var failures = new List<string>();
        foreach (var notifier in _notifiers)
        {
            try
            {
                await notifier.TrippedAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failures.Add(e.Message);
            }
        }

        return new StageTiming
        {
            Stage = SuspensionStage.Webhooks,
            Duration = _time.GetElapsedTime(started),
            Succeeded = failures.Count == 0,
            Detail = failures.Count == 0 ? detailWhenSent : string.Join("; ", failures),
        };
    }

    /// <summary>
    /// At start-up, once: the bring-ups restores owed when the last controller stopped are tried again, at once and
    /// then on the retry schedule, for exactly the ports still owed; those the policy in force voids (the client gone,
    /// its ports left alone, a port no longer its) are dropped first, durably.
    /// </summary>
    private async Task ResumeBringUpsAsync(CancellationToken cancellationToken)
    {
        if (_ports is null || Interlocked.Exchange(ref _resumed, 1) != 0 || Current.OwedBringUps.Count == 0)
        {
            return;
        }

        await UpdateOwedAsync(state => OwedUnder(state, _policy.Current), cancellationToken).ConfigureAwait(false);
        foreach (var (clientId, owed) in Current.OwedBringUps)
        {
            BringUpLater(owed.Restore, clientId, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Shuts a suspension's ports again and reads them back, in the suspension's turn (after a try of its retry
    /// still running, before the next), then notes it on the suspension's record (durably, when the suspension
    /// is still the one in force) and tells the observers, in the order its port work ran. Returns the
    /// reassertion and the report of it, which comes after the trip's enforced record and what ran before it.
    /// </summary>
    private async Task<(PortReassertion Reassertion, Task Reported)> ReassertPortsAsync(SuspensionRecord record, IReadOnlyList<PortTarget> targets, PortReassertionCause cause, CancellationToken cancellationToken)
    {
        var work = WorkOf(record);
        await work.Turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = _time.GetTimestamp();
            if (_ports is null)
            {
                var none = new PortShut(new PortActionResult { Verified = false, Failures = ["no port shutter configured"] }, [.. targets], 0);
                var reassertion = Reassertion(started, none, cause);
                return (reassertion, NoteInTurn(work, record, reassertion));
            }

            // Only the clients still suspended when their turn came are named: a restore meanwhile keeps its ports up.
            var shut = await ShutPortsAsync(record, targets, cancellationToken).ConfigureAwait(false);
            var made = Reassertion(started, shut, cause);

            // Otherwise every client was restored before its turn: nothing was shut, nothing to note.
            return (made, shut.Shut.Count > 0 ? NoteInTurn(work, record, made) : Task.CompletedTask);
        }
        finally
        {
            work.Turn.Release();
        }
    }

    /// <summary>
    /// The port work of a suspension in force (made on first use, its reports after the trip's enforced record
    /// while that is still to come); for one no longer in force, work of its own that nothing else shares.
    /// </summary>
    private SuspensionPortWork WorkOf(SuspensionRecord record)
    {
        lock (_retryLock)
        {
            if (_suspensionWork.TryGetValue(record.Id, out var work))
            {
                return work;
            }

            work = new SuspensionPortWork { Reported = _enforcing.TryGetValue(record.Id, out var enforcing) ? enforcing : Task.CompletedTask };
            if (Current.Suspensions.TryGetValue(record.Scope, out var inForce) && string.Equals(inForce.Id, record.Id, StringComparison.Ordinal))
            {
                _suspensionWork[record.Id] = work;
            }

            return work;
        }
    }

    private PortReassertion Reassertion(long started, PortShut shut, PortReassertionCause cause) => new()
    {
        At = _time.GetUtcNow(),
        Duration = _time.GetElapsedTime(started),
        Verified = shut.Result.Verified,
        Cause = cause,
        Clients = [.. shut.Shut.Select(t => t.Client.Id)],
        Ports = [.. shut.Shut.SelectMany(t => t.Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")))],
        Failures = shut.Result.Failures,
    };

    /// <summary>
    /// Puts a reassertion on the suspension's record (durably, when the suspension is still the one in
    /// force) and tells the observers.
    /// </summary>
    private async Task NoteReassertionAsync(SuspensionRecord record, PortReassertion reassertion, CancellationToken cancellationToken)
    {
        record = await AmendInForceAsync(record, r => r with { Reassertions = [.. r.Reassertions, reassertion] }, cancellationToken).ConfigureAwait(false) ?? record;
        foreach (var observer in _observers)
        {
            observer.PortsReasserted(record, reassertion);
        }
    }

    /// <summary>
    /// Tries a suspension's ports that did not read back down again, after <see cref="FirstPortRetry"/> and
    /// then twice as long each time (at most <see cref="PortRetryCap"/>), until every one reads back down,
    /// the suspension is lifted (<see cref="Lift"/> cancels it) or the engine is disposed. Each try is a
    /// shut like any other: owning its ports, only for clients still suspended at that moment. A try that
    /// reads at least one port back down goes on the record (<see cref="PortReassertionCause.Retry"/>); one
    /// that reads none is only reported (<see cref="ISuspensionObserver.PortRetryFailed"/>), not recorded.
    /// </summary>
    private async Task RetryPortsAsync(PortRetry retry)
    {
        var cancellation = retry.Cancellation.Token;
        var delay = FirstPortRetry;
        try
        {
            while (true)
            {
                await Task.Delay(delay, _time, cancellation).ConfigureAwait(false);
                var next = NextRetryDelay(delay);

                // In the suspension's turn: a reassertion of its ports still running ends first, and what it
                // read back down is no longer to try (it superseded this try); one coming later waits for it.
                var work = WorkOf(retry.Record);
                await work.Turn.WaitAsync(cancellation).ConfigureAwait(false);
                try
                {
                    if (PendingTargets(retry) is not { } targets)
                    {
                        return;
                    }

                    await TryPortsAgainAsync(retry, work, targets, next, cancellation).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not (OperationCanceledException or ObjectDisposedException))
                {
                    // An observer failed after the shut: the ports are as the shut left them (and so is what is
                    // left to try); the retry goes on.
                    _ = e;
                }
                finally
                {
                    work.Turn.Release();
                }

                if (Settled(retry))
                {
                    return;
                }

                delay = next;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellation.IsCancellationRequested)
        {
            // Lifted (a restore brings the ports up) or the engine stopped (the next start shuts them again).
        }
        finally
        {
            lock (_retryLock)
            {
                if (_retries.TryGetValue(retry.Record.Id, out var current) && ReferenceEquals(current, retry))
                {
                    _retries.Remove(retry.Record.Id);
                }
            }
        }
    }

    /// <summary>
    /// One try of a retry: shuts the ports and reads them back; puts the try on the record when it read at
    /// least one of them down, otherwise only tells the observers when the next try comes.
    /// </summary>
    private async Task TryPortsAgainAsync(PortRetry retry, SuspensionPortWork work, PortTarget[] targets, TimeSpan next, CancellationToken cancellation)
    {
        var started = _time.GetTimestamp();
        var shut = await ShutPortsAsync(retry.Record, targets, cancellation, retry).ConfigureAwait(false);
        if (shut.Shut.Count == 0)
        {
            // Lifted before its turn (the next wake-up finds it no longer in force), or another shut read its
            // ports down while it waited for them: nothing was done.
            return;
        }

        var attempt = Reassertion(started, shut, PortReassertionCause.Retry);
        if (shut.Unverified < attempt.Ports.Count)
        {
            // Reported in turn; the next try does not wait for the report.
            _ = NoteInTurn(work, retry.Record, attempt);
            return;
        }

        var record = Current.Suspensions.TryGetValue(retry.Record.Scope, out var inForce) && string.Equals(inForce.Id, retry.Record.Id, StringComparison.Ordinal) ? inForce : retry.Record;
        foreach (var observer in _observers)
        {
            observer.PortRetryFailed(record, attempt, next);
        }
    }

    /// <summary>
    /// Puts port work that shut ports (a reassertion, a try of a retry) on the suspension's record after
    /// everything its work was to report before it: the enforced record of the trip (its webhooks may still
    /// run) and the work that ran before it. Called in the suspension's turn, so the reports follow the order
    /// the work ran; the next piece of work does not wait for the report, the ports are shut already.
    /// </summary>
    private Task NoteInTurn(SuspensionPortWork work, SuspensionRecord record, PortReassertion reassertion) =>
        ReportInTurn(work, cancellation => NoteReassertionAsync(record, reassertion, cancellation));

    /// <summary>
    /// Runs <paramref name="report"/> (a change to the suspension's record and what the observers hear of it)
    /// after every report of the suspension's port work handed over before it, the trip's enforced record first.
    /// </summary>
    private Task ReportInTurn(SuspensionPortWork work, Func<CancellationToken, Task> report)
    {
        var stopping = _stopping.Token;
        lock (_retryLock)
        {
            work.Reported = Track(work.Reported.ContinueWith(
                async _ =>
                {
                    try
                    {
                        await report(stopping).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && stopping.IsCancellationRequested)
                    {
                        // Stopping: the next start shuts the ports again, on record.
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default).Unwrap());
            return work.Reported;
        }
    }

    /// <summary>
    /// The ports a retry is to try now: those still not read back down that the policy in force still gives
    /// a client that has its ports shut (a port a reload took away stays as it is). Null when there are none
    /// or the suspension is no longer in force; the retry then ends.
    /// </summary>
    private PortTarget[]? PendingTargets(PortRetry retry)
    {
        lock (_retryLock)
        {
            if (!_retries.TryGetValue(retry.Record.Id, out var current) || !ReferenceEquals(current, retry))
            {
                return null;
            }

            var targets = new List<PortTarget>();
            if (Current.Suspensions.TryGetValue(retry.Record.Scope, out var inForce) && string.Equals(inForce.Id, retry.Record.Id, StringComparison.Ordinal))
            {
                foreach (var client in _policy.Current.Clients)
                {
                    if (!retry.Ports.TryGetValue(client.Id, out var pending) || pending.Count == 0 || !client.Kill.ShutPorts)
                    {
                        continue;
                    }

                    var ports = client.PortsToShut()
                        .Select(p => p with { Ports = p.Ports.Where(port => pending.Contains(new SwitchPort(p.Switch, port))).ToArray() })
                        .Where(p => p.Ports.Count > 0)
                        .ToArray();
                    pending.IntersectWith(ports.SelectMany(p => p.Ports.Select(port => new SwitchPort(p.Switch, port))));
                    if (ports.Length > 0)
                    {
                        targets.Add(new PortTarget(client, ports));
                    }
                }
            }

            if (targets.Count == 0)
            {
                _retries.Remove(retry.Record.Id);
                return null;
            }

            return [.. targets];
        }
    }

    /// <summary>True (and the retry removed) when none of its ports is left to try.</summary>
    private bool Settled(PortRetry retry)
    {
        lock (_retryLock)
        {
            if (!_retries.TryGetValue(retry.Record.Id, out var current) || !ReferenceEquals(current, retry))
            {
                return true;
            }

            if (retry.Ports.Values.Any(p => p.Count > 0))
            {
                return false;
            }

            _retries.Remove(retry.Record.Id);
            return true;
        }
    }

    /// <summary>
    /// A shut of a client's ports, as read back (the caller owns the client's ports, so for each port these come
    /// in the order its shuts ran): the ports read back down are no longer any suspension's to retry; those that were not
    /// are <paramref name="record"/>'s, while it is in force.
    /// </summary>
    private void NoteShut(SuspensionRecord record, string clientId, PortAssignment[] asked, HashSet<SwitchPort> unverified)
    {
        lock (_retryLock)
        {
            var down = asked.SelectMany(p => p.Ports.Select(port => new SwitchPort(p.Switch, port))).Where(p => !unverified.Contains(p)).ToHashSet();
            foreach (var retry in _retries.Values)
            {
                if (retry.Ports.TryGetValue(clientId, out var pending))
                {
                    pending.ExceptWith(down);
                }
            }

            if (unverified.Count > 0 && Current.Suspensions.TryGetValue(record.Scope, out var inForce) && string.Equals(inForce.Id, record.Id, StringComparison.Ordinal))
            {
                RetryLater(inForce, clientId, unverified);
            }
        }
    }

    /// <summary>Adds ports to a suspension's retry, starting it when it has none (caller holds the retry lock).</summary>
    private void RetryLater(SuspensionRecord record, string clientId, IEnumerable<SwitchPort> ports)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (!_retries.TryGetValue(record.Id, out var retry))
        {
            retry = new PortRetry(record);
            _retries.Add(record.Id, retry);
            Track(Task.Run(() => RetryPortsAsync(retry), CancellationToken.None));
        }

        if (!retry.Ports.TryGetValue(clientId, out var pending))
        {
            retry.Ports[clientId] = pending = [];
        }

        pending.UnionWith(ports);
    }

    /// <summary>
    /// Ends the retry of a suspension just lifted (caller holds the engine's lock, the lifted state is
    /// published). Ports of its clients that another suspension still holds become that one's to retry;
    /// the others are the restore's to bring up, which it does once it owns them, after any try still
    /// running, and no try starts for a client no longer suspended.
    /// </summary>
    private void StopRetrying(SuspensionRecord lifted)
    {
        PortRetry? retry;
        lock (_retryLock)
        {
            if (!_retries.Remove(lifted.Id, out retry))
            {
                return;
            }

            var state = Current;
            foreach (var (clientId, ports) in retry.Ports)
            {
                var holder = state.Suspensions.TryGetValue(clientId, out var own) ? own
                    : state.Suspensions.TryGetValue(SuspensionNames.AllClients, out var site) ? site
                    : null;
                if (holder is not null && ports.Count > 0)
                {
                    RetryLater(holder, clientId, ports);
                }
            }
        }

        // Its callbacks run on the thread pool, not here under the engine's lock.
        _ = retry.Cancellation.CancelAsync();
    }

    /// <summary>
    /// A reload took effect. Ports it gives a suspended client — a new port of its segments or of
    /// <see cref="KillActions.ForceShutPorts"/>, a port on a switch that moved to another address, every
    /// port of a client that now asks for its ports shut or that is new under a site-wide suspension —
    /// were never shut by its trip: they are shut now, in the background, and the suspension's record
    /// notes it (<see cref="PortReassertionCause.PolicyReload"/>). Ports the reload takes away from a suspended
    /// client follow their new owner: brought up for a client not suspended or whose ports are not to be shut
    /// (kill.shut_ports off: the controller never keeps such a client's port shut), kept shut under another
    /// suspended client's suspension, left shut when no client has them; the suspension that had shut them notes it
    /// (<see cref="PortRelease"/>).
    /// </summary>
    private void OnPolicyChanged(object? sender, SitePolicy changed)
    {
        lock (_reloadPorts)
        {
            // The policy in force, not the event's: two reloads at once may raise their events out of order.
            var policy = _policy.Current;
            var previous = _portPolicy;
            if (ReferenceEquals(policy, previous) || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            _portPolicy = policy;
            if (!ReferenceEquals(OwedUnder(Current, policy), Current))
            {
                // Dropped now, durably, not at the next try: a client dropped and put back by a later reload is owed nothing.
                var settling = _stopping.Token;
                Track(Task.Run(
                    async () =>
                    {
                        try
                        {
                            await UpdateOwedAsync(state => OwedUnder(state, _policy.Current), settling).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && settling.IsCancellationRequested)
                        {
                            // Stopping: the next start drops them under the policy it reads.
                        }
                    },
                    CancellationToken.None));
            }

            var covered = new HashSet<string>(StringComparer.Ordinal);
            var work = new List<(SuspensionRecord Record, PortTarget[] Targets)>();
            foreach (var record in Current.Suspensions.Values.OrderBy(r => r.TrippedAt))
            {
                var clients = string.Equals(record.Scope, SuspensionNames.AllClients, StringComparison.Ordinal)
                    ? policy.Clients
                    : policy.FindClient(record.Scope) is { } client ? [client] : [];
                var targets = clients
                    .Where(c => c.Kill.ShutPorts && covered.Add(c.Id))
                    .Select(c => new PortTarget(c, AddedPorts(previous, policy, c)))
                    .Where(t => t.Ports.Length > 0)
                    .ToArray();
                if (targets.Length > 0)
                {
                    work.Add((record, targets));
                }
            }

            var released = TakenAway(previous, policy);
            if (work.Count == 0 && released.Count == 0)
            {
                return;
            }

            var stopping = _stopping.Token;

            // One reload's ports after another's, in the order the reloads took effect.
            _portWork = Track(_portWork.ContinueWith(_ => ReloadPortsAsync(work, released, stopping), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap());
        }
    }

    private async Task ReloadPortsAsync(List<(SuspensionRecord Record, PortTarget[] Targets)> work, List<TakenPorts> released, CancellationToken stopping)
    {
        try
        {
            foreach (var (record, targets) in work)
            {
                // Its report follows the suspension's earlier port work (and the trip's enforced record); the
                // reload's next port work need not wait for it.
                _ = await ReassertPortsAsync(record, targets, PortReassertionCause.PolicyReload, stopping).ConfigureAwait(false);
            }

            foreach (var taken in released)
            {
                await ReleasePortsAsync(taken, stopping).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && stopping.IsCancellationRequested)
        {
            // The controller is stopping: the next start shuts every suspended client's ports again, and a
            // port given to a client not suspended stays as it is until its next restore or reload.
        }
    }

    /// <summary>
    /// The ports each suspension in force had shut (a client it covers, that has its ports shut, under
    /// <paramref name="previous"/>) that <paramref name="policy"/> no longer gives that client to shut, with
    /// whom they go to: a client not suspended, or one whose ports are not to be shut (kill.shut_ports off,
    /// suspended or not, the client itself included), gets them up; no client, they are left shut; another
    /// suspended client that has its ports shut keeps them shut under its own suspension
    /// (<see cref="AddedPorts"/>) and they are not listed. A port is named by switch and port alone here: a
    /// switch that moved to another address is the same switch.
    /// </summary>
    private List<TakenPorts> TakenAway(SitePolicy previous, SitePolicy policy)
    {
        var state = Current;
        var owners = new Dictionary<string, ClientDefinition>(StringComparer.Ordinal);
        foreach (var client in policy.Clients)
        {
            foreach (var p in client.PortsToShut())
            {
                foreach (var port in p.Ports)
                {
                    owners.TryAdd(PortLocks.Key(p.Switch, port), client);
                }
            }
        }

        var taken = new List<TakenPorts>();
        foreach (var record in state.Suspensions.Values.OrderBy(r => r.TrippedAt))
        {
            var clients = string.Equals(record.Scope, SuspensionNames.AllClients, StringComparison.Ordinal)
                ? previous.Clients
                : previous.FindClient(record.Scope) is { } client ? [client] : [];
            foreach (var old in clients.Where(c => c.Kill.ShutPorts))
            {
                var kept = policy.FindClient(old.Id) is { Kill.ShutPorts: true } now
                    ? now.PortsToShut().SelectMany(p => p.Ports.Select(port => PortLocks.Key(p.Switch, port))).ToHashSet(StringComparer.Ordinal)
                    : [];
                var up = new Dictionary<string, (ClientDefinition To, List<(string Switch, string Port)> Ports)>(StringComparer.Ordinal);
                var leftShut = new List<string>();
                foreach (var p in old.PortsToShut())
                {
                    foreach (var port in p.Ports)
                    {
                        var key = PortLocks.Key(p.Switch, port);
                        if (kept.Contains(key))
                        {
                            continue;
                        }

                        if (!owners.TryGetValue(key, out var owner))
                        {
                            // No client's: whatever is plugged in stays off until the policy gives it one.
                            leftShut.Add($"{p.Switch}:{port}");
                        }
                        else if (!state.IsSuspended(owner.Id) || !owner.Kill.ShutPorts)
                        {
                            // Nothing needs it shut: the controller undoes its own shut. A client that has its
                            // ports left alone (kill.shut_ports off) never has one shut by the controller,
                            // suspended or not.
                            if (!up.TryGetValue(owner.Id, out var to))
                            {
                                up[owner.Id] = to = (owner, []);
                            }

                            to.Ports.Add((p.Switch, port));
                        }
                    }
                }

                if (up.Count > 0 || leftShut.Count > 0)
                {
                    var targets = up.Values
                        .Select(u => new PortTarget(u.To, [.. u.Ports.GroupBy(x => x.Switch, StringComparer.Ordinal).Select(g => new PortAssignment { Switch = g.Key, Ports = [.. g.Select(x => x.Port)] })]))
                        .ToArray();
                    taken.Add(new TakenPorts(record, old.Id, targets, leftShut));
                }
            }
        }

        return taken;
    }

    /// <summary>
    /// Brings up the ports a reload gave a client that is not suspended or whose ports are not to be shut
    /// (only those ports, each client owning its ports, and only while nothing needs them shut: a trip of a
    /// client that has its ports shut keeps them shut), and puts what was done — and the ports left shut for
    /// want of a client — on the record of the suspension that had shut them, after what its port work
    /// reported before (the trip's enforced record first).
    /// </summary>
    private async Task ReleasePortsAsync(TakenPorts taken, CancellationToken stopping)
    {
        var broughtUp = new List<string>();
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var failures = new List<string>();
        var verified = true;
        foreach (var (client, ports) in taken.Up)
        {
            if (_ports is null)
            {
                verified = false;
                failures.Add("no port shutter configured");
                break;
            }

            using var held = await _portLocks.AcquireAsync(PortKeys(client.Id, ports), stopping).ConfigureAwait(false);
            if (Current.IsSuspended(client.Id) && (_policy.Current.FindClient(client.Id) ?? client).Kill.ShutPorts)
            {
                continue;
            }

            // The release goes on the record of the suspension that had shut the ports, under its client's key and
            // in full into that client's evidence export: it names the ports, never the client that has them now
            // (that is for the site's own log, and the policy in force says it).
            var named = ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")).ToArray();
            broughtUp.AddRange(named);
            foreach (var port in named)
            {
                owners[port] = client.Id;
            }

            var withoutOwner = new ClientRedactor(taken.From, [client.Id], null);
            try
            {
                var result = await _ports.ReleaseAsync(client.Id, ports, stopping).ConfigureAwait(false);
                verified &= result.Verified && result.Failures.Count == 0;
                failures.AddRange(result.Failures.Select(withoutOwner.Redact));
                if (!result.Verified && result.Failures.Count == 0)
                {
                    failures.Add($"{string.Join(", ", named)}: not read back up");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                verified = false;
                failures.Add($"{string.Join(", ", named)}: {withoutOwner.Redact(e.Message)}");
            }
        }

        if (broughtUp.Count == 0 && taken.LeftShut.Count == 0)
        {
            return;
        }

        var release = new PortRelease
        {
            At = _time.GetUtcNow(),
            From = taken.From,
            BroughtUp = broughtUp,
            LeftShut = taken.LeftShut,
            Verified = verified,
            Failures = failures,
        };

        // On the suspension's record after what its port work reported before (the trip's enforced record
        // first); the reload's next port work need not wait for it.
        _ = ReportInTurn(WorkOf(taken.Record), async cancellation =>
        {
            var record = await AmendInForceAsync(taken.Record, r => r with { Releases = [.. r.Releases, release] }, cancellation).ConfigureAwait(false) ?? taken.Record;
            foreach (var observer in _observers)
            {
                observer.PortsReleased(record, release, owners);
            }
        });
    }

    /// <summary>
    /// The client's ports under <paramref name="policy"/> that were not its shut ports under
    /// <paramref name="previous"/>. A port is the same one only on the same switch name at the same agent
    /// address: a switch replaced at a new address has none of its ports shut yet.
    /// </summary>
    private static PortAssignment[] AddedPorts(SitePolicy previous, SitePolicy policy, ClientDefinition client)
    {
        var before = previous.FindClient(client.Id) is { Kill.ShutPorts: true } old
            ? old.PortsToShut().SelectMany(p => p.Ports.Select(port => PortKey(previous, p.Switch, port))).ToHashSet(StringComparer.Ordinal)
            : [];
        return client.PortsToShut()
            .Select(p => p with { Ports = p.Ports.Where(port => !before.Contains(PortKey(policy, p.Switch, port))).ToArray() })
            .Where(p => p.Ports.Count > 0)
            .ToArray();
    }

    private static string PortKey(SitePolicy policy, string switchName, string port) =>
        policy.FindSwitch(switchName) is { } sw
            ? string.Create(CultureInfo.InvariantCulture, $"{switchName}\0{sw.Address}\0{sw.Port}\0{port}")
            : $"{switchName}\0\0\0{port}";

    private Task<T> Track<T>(Task<T> task)
    {
        Track((Task)task);
        return task;
    }

    private Task Track(Task task)
    {
        _background.TryAdd(task, 0);
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>Records an audit result as of now: a pass enables restores that need one; a failure trips the client.</summary>
    public Task RecordAuditAsync(string clientId, bool passed, string auditor, string summary, CancellationToken cancellationToken) =>
        RecordAuditAsync(clientId, passed, evidenceAt: null, auditor, summary, cancellationToken);

    /// <summary>
    /// Records an audit result: a pass enables restores that need one, a failure trips the client. A pass
    /// counts as of <paramref name="evidenceAt"/>, when its evidence was taken (an audit run: its start; null:
    /// now), never later than now: an audit that began before a trip or a failed audit is not one "since"
    /// it, however late it finishes.
    /// </summary>
    public async Task RecordAuditAsync(string clientId, bool passed, DateTimeOffset? evidenceAt, string auditor, string summary, CancellationToken cancellationToken)
    {
        ValidateScope(clientId);
        if (!passed)
        {
            await TripAsync(
                new TripRequest { Scope = clientId, Trigger = SuspensionTrigger.Audit, Actor = auditor, Reason = summary, Rule = "audit-failed" },
                cancellationToken).ConfigureAwait(false);
            return;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var at = evidenceAt is { } taken && taken < now ? taken : now;
            if (_state.LastPassingAudit.TryGetValue(clientId, out var later) && later > at)
            {
                // A later audit's pass is on record already (an external one while a run went on): keep it.
                return;
            }

            var next = _state.WithPassingAudit(clientId, at);
            Save(next);
            Volatile.Write(ref _state, next);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Stops background stages (switch ports, webhooks) still running and waits briefly for them.</summary>
    public void Dispose()
    {
        // Containers may dispose it once per registration (engine and view): only the first counts.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _policy.PolicyChanged -= OnPolicyChanged;

        // A reload's handler still running has tracked its work by the time this lock is free; any later
        // one sees the engine disposed.
        lock (_reloadPorts)
        {
        }

        // No retry starts once the engine is disposed; those running stop at their next await.
        PortRetry[] retries;
        CancellationTokenSource[] bringUps;
        lock (_retryLock)
        {
            retries = [.. _retries.Values];
            _retries.Clear();
            bringUps = [.. _bringUps.Values];
            _bringUps.Clear();
        }

        foreach (var bringUp in bringUps)
        {
            End(bringUp);
        }

        foreach (var retry in retries)
        {
            retry.Cancellation.Cancel();
        }

        _stopping.Cancel();
        try
        {
            Task.WaitAll([.. _background.Keys], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Cancelled or failed stages: their outcome is on record already or lost with the process.
        }

        FlushUnsavedAtStop();
        _stopping.Dispose();
        _lock.Dispose();
    }

    private int RequiredApprovers => Math.Max(1, _policy.Current.Restore.Approvers);

    private static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>The suspended clients a policy does not have, in order.</summary>
    private static IEnumerable<string> Orphans(SuspensionState state, SitePolicy policy) => state.Suspensions.Keys
        .Where(scope => scope != SuspensionNames.AllClients && policy.FindClient(scope) is null)
        .Order(StringComparer.Ordinal);

    /// <summary>
    /// With an approval added (caller holds the lock): saves the pending restore while more people must
    /// agree (its outcome), or lifts the suspension in this same hold (null).
    /// </summary>
    private RestoreOutcome? SavePendingOrLift(string scope, PendingRestore pending)
    {
        if (pending.Approvers.Count < RequiredApprovers)
        {
            return SavePending(scope, pending);
        }

        try
        {
            Lift(scope, pending);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not lifted: still suspended, the last approval not kept either (the caller is told to try again).
            return Refused($"the restore could not be recorded durably ({e.Message}); nothing changed, still suspended, try again");
        }

        return null;
    }

    // A refusal says how many approvers the policy asks for, so an answer never reads as "none needed".
    private RestoreOutcome Refused(string message) => new() { Status = RestoreStatus.Refused, Message = message, Required = RequiredApprovers };

    /// <summary>A refusal when the suspension in force is not the one the caller named (null: it is, or none was named).</summary>
    private RestoreOutcome? SuspensionChanged(string scope, SuspensionRecord inForce, string? restoreId) =>
        restoreId is null || string.Equals(inForce.Id, restoreId, StringComparison.Ordinal)
            ? null
            : Refused($"the suspension changed: restore id '{restoreId}' was lifted and '{scope}' is suspended again under '{inForce.Id}'; look at it before asking to lift it");

    /// <summary>True when <paramref name="pending"/> is the request <paramref name="seen"/> was (approvals added since aside).</summary>
    private static bool SameRequest(PendingRestore pending, PendingRestore? seen) =>
        seen is not null
        && string.Equals(pending.SuspensionId, seen.SuspensionId, StringComparison.Ordinal)
        && string.Equals(pending.RequestedBy, seen.RequestedBy, StringComparison.Ordinal)
        && string.Equals(pending.Reason, seen.Reason, StringComparison.Ordinal)
        && pending.RequestedAt == seen.RequestedAt;

    /// <summary>Saves a pending restore with the state (caller holds the lock); one that cannot be saved is refused.</summary>
    private RestoreOutcome SavePending(string scope, PendingRestore pending)
    {
        var next = _state.WithPending(scope, pending);
        try
        {
            Save(next);
        }
        catch (IOException e)
        {
            return Refused($"the approval could not be recorded durably ({e.Message}); nothing changed, try again");
        }

        Volatile.Write(ref _state, next);
        return new RestoreOutcome
        {
            Status = RestoreStatus.PendingApproval,
            Message = $"{pending.Approvers.Count} of {RequiredApprovers} distinct approvers; waiting for another person (saved: approvals survive a controller restart)",
            Approvers = pending.Approvers,
            Required = RequiredApprovers,
        };
    }

    private void ValidateScope(string scope)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scope);
        if (!string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal) && _policy.Current.FindClient(scope) is null)
        {
            throw new ArgumentException($"'{scope}' is not a client of this site", nameof(scope));
        }
    }

    private string? AuditMissing(string scope, SuspensionRecord record)
    {
        // A failed audit (the one that tripped it, or one while it was in force) lasts until a later audit
        // passes, whatever else the policy asks of restores; otherwise an audit is needed only where
        // restore.require_passing_audit says so, one that passed since the trip. A record saved before
        // FailedAuditAt existed has only its trigger to tell.
        var failedAt = record.FailedAuditAt ?? (record.Trigger == SuspensionTrigger.Audit ? record.TrippedAt : null);
        var required = _policy.Current.Restore.RequirePassingAudit;
        if (!required && failedAt is null)
        {
            return null;
        }

        var since = failedAt is { } failed && (!required || failed > record.TrippedAt) ? failed : record.TrippedAt;
        var clients = string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal)
            ? _policy.Current.Clients.Select(c => c.Id)
            : [scope];
        var missing = clients
            .Where(c => !_state.LastPassingAudit.TryGetValue(c, out var at) || at < since)
            .ToArray();
        if (missing.Length == 0)
        {
            return null;
        }

        var none = string.Join(", ", missing);
        return failedAt is null
            ? $"the policy requires a passing audit since the trip; none for {none}"
            : record.Trigger == SuspensionTrigger.Audit && failedAt == record.TrippedAt
                ? $"suspended by a failed audit: a later audit must pass first; none has for {none}"
                : string.Create(CultureInfo.InvariantCulture, $"an audit failed at {failedAt:O} while suspended: a later audit must pass first; none has for {none}");
    }

    /// <summary>
    /// Lifts a scope's suspension durably (caller holds the lock, in the same hold in which it checked the
    /// suspension, its approvals and audits: a trip cannot come between the checks and the lift).
    /// </summary>
    /// <exception cref="IOException">The restore could not be saved: nothing changed.</exception>
    private void Lift(string scope, PendingRestore pending)
    {
        var lifted = _state.Suspensions[scope];
        var at = _time.GetUtcNow();
        var next = Owe(_state.Without(scope).WithLifted(scope, at), lifted, pending, at);
        Save(next);
        Volatile.Write(ref _state, next);
        lock (_retryLock)
        {
            _suspensionWork.Remove(lifted.Id);
        }

        StopRetrying(lifted);
    }

    private async Task<RestoreOutcome> CompleteRestoreAsync(string scope, SuspensionRecord lifted, PendingRestore pending, bool requested)
    {
        foreach (var observer in _observers)
        {
            if (requested)
            {
                observer.RestoreRequested(lifted, pending);
            }
            else
            {
                observer.RestoreApproved(lifted, pending, pending.Approvers[^1]);
            }
        }

        // The restore is durable and in force: what follows (ports, observers, webhooks) runs to its end
        // whatever happens to the caller, and a failure there is on record, never a lost restore.
        var stopping = _stopping.Token;
        PortActionResult? ports = null;
        Dictionary<string, HashSet<SwitchPort>> notUp = [];
        try
        {
            (ports, notUp) = await BringPortsUpAsync(scope, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            ports = new PortActionResult { Verified = false, Failures = ["the controller stopped before the switch ports were brought up"] };
        }

        var restored = new RestoreRecord
        {
            Suspension = lifted,
            RequestedBy = pending.RequestedBy,
            Reason = pending.Reason,
            Approvers = pending.Approvers,
            RestoredAt = _time.GetUtcNow(),
            Ports = ports,
        };
        foreach (var observer in _observers)
        {
            observer.Restored(restored);
        }

        await SettleBringUpAsync(restored, notUp, stopping).ConfigureAwait(false);

        foreach (var notifier in _notifiers)
        {
            try
            {
                await notifier.RestoredAsync(restored, stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || stopping.IsCancellationRequested)
            {
                // A webhook that fails does not undo a restore; the restore is on record already.
                _ = e;
            }
        }

        return new RestoreOutcome
        {
            Status = RestoreStatus.Restored,
            Message = $"'{scope}' restored",
            Approvers = pending.Approvers,
            Required = RequiredApprovers,
            Record = restored,
        };
    }

    /// <summary>
    /// Brings up the ports of the clients a restore lifted, each client once it owns its ports (after any
    /// shut or retry of them still running) and only while nothing keeps the client suspended at that moment
    /// (a trip that comes in meanwhile wins). Clients whose ports are free do not wait for the others.
    /// Null when no port had to come up. With it, for each client whose ports it brought up, those not read back up.
    /// </summary>
    private async Task<(PortActionResult? Ports, Dictionary<string, HashSet<SwitchPort>> NotUp)> BringPortsUpAsync(string scope, CancellationToken cancellationToken)
    {
        var clients = ClientsIn(scope).Where(c => c.Kill.ShutPorts).ToArray();
        if (_ports is null || clients.Length == 0)
        {
            return (null, []);
        }

        // This restore brings the clients' ports up itself: tries left over from an earlier restore of them end.
        StopBringingUp(clients.Select(c => c.Id));
        var results = await Task.WhenAll(clients.Select(c => BringClientUpAsync(c, cancellationToken))).ConfigureAwait(false);
        if (results.All(r => r is null))
        {
            return (null, []);
        }

        var notUp = new Dictionary<string, HashSet<SwitchPort>>(StringComparer.Ordinal);
        for (var i = 0; i < clients.Length; i++)
        {
            if (results[i] is { } result)
            {
                notUp[clients[i].Id] = NotReadBack(clients[i].PortsToShut(), result);
            }
        }

        return (new PortActionResult
        {
            Verified = results.All(r => r is null || IsUp(r)),
            Failures = [.. results.SelectMany(r => r?.Failures ?? [])],
        }, notUp);
    }

    private static bool IsUp(PortActionResult result) => result.Verified && result.Failures.Count == 0;

    /// <summary>The wait before the try after one that came <paramref name="delay"/> after the one before: twice as long, at most <see cref="PortRetryCap"/>.</summary>
    private static TimeSpan NextRetryDelay(TimeSpan delay) => delay * 2 < PortRetryCap ? delay * 2 : PortRetryCap;

    /// <summary>
    /// Tries again the bring-up of the ports <paramref name="restored"/> still owes a client
    /// (<see cref="SuspensionState.OwedBringUps"/>: those its bring-up did not read back up, the switch did not
    /// answer or answered late), after <paramref name="first"/>, then <see cref="FirstPortRetry"/> and twice as
    /// long each time (at most <see cref="PortRetryCap"/>), until they read back up, the client is suspended again
    /// (its trip shuts them), it is restored again (that restore brings them up), the policy no longer has the
    /// client or leaves its ports alone, or the engine is disposed (the next start tries them again). Each try
    /// owns the client's ports like any bring-up and sets exactly the ports still owed, and only while they are
    /// still this restore's to bring up. The try that reads them up is reported
    /// (<see cref="ISuspensionObserver.PortsBroughtUp"/>, on record), one that does not only to the observers
    /// (<see cref="ISuspensionObserver.PortBringUpRetryFailed"/>).
    /// </summary>
    private void BringUpLater(RestoreRecord restored, string clientId, TimeSpan first)
    {
        CancellationTokenSource cancellation;
        CancellationTokenSource? earlier;
        lock (_retryLock)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            _bringUps.Remove(clientId, out earlier);
            _bringUps.Add(clientId, cancellation);
        }

        End(earlier);
        Track(Task.Run(() => RetryBringUpAsync(restored, clientId, first, cancellation), CancellationToken.None));
    }

    /// <summary>Cancels and disposes a bring-up's tries taken out of <see cref="_bringUps"/> (not under the lock: the loop's end takes it).</summary>
    private static void End(CancellationTokenSource? bringUp)
    {
        if (bringUp is null)
        {
            return;
        }

        bringUp.Cancel();
        bringUp.Dispose();
    }

    private async Task RetryBringUpAsync(RestoreRecord restored, string clientId, TimeSpan first, CancellationTokenSource cancellation)
    {
        var token = cancellation.Token;
        var delay = first;
        try
        {
            while (true)
            {
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
                var next = delay < FirstPortRetry ? FirstPortRetry : NextRetryDelay(delay);
                var started = _time.GetTimestamp();
                if (await BringOwedUpAsync(restored, clientId, token).ConfigureAwait(false) is not { } tried)
                {
                    // Suspended again (its trip shuts the ports), restored again (that restore owes them now), or
                    // nothing of it left under the policy in force.
                    return;
                }

                if (token.IsCancellationRequested)
                {
                    // Restored again meanwhile (that restore's bring-up, after this one, is what stands) or stopping.
                    return;
                }

                var notUp = NotReadBack(tried.Ports, tried.Result);
                await OweAsync(restored, clientId, notUp, token).ConfigureAwait(false);
                var attempt = new PortBringUp(clientId, _time.GetUtcNow(), _time.GetElapsedTime(started), tried.Result);
                var up = notUp.Count == 0;
                foreach (var observer in _observers)
                {
                    if (up)
                    {
                        observer.PortsBroughtUp(restored, attempt);
                    }
                    else
                    {
                        observer.PortBringUpRetryFailed(restored, attempt, next);
                    }
                }

                if (up)
                {
                    return;
                }

                delay = next;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && token.IsCancellationRequested)
        {
            // Restored again (that restore brings the ports up) or the engine stopped (the next start tries again).
        }
        finally
        {
            // Still in the table: no one else holds it, so it is this loop's to dispose; taken out, it is
            // whoever took it out's.
            var own = false;
            lock (_retryLock)
            {
                if (_bringUps.TryGetValue(clientId, out var current) && ReferenceEquals(current, cancellation))
                {
                    own = _bringUps.Remove(clientId);
                }
            }

            if (own)
            {
                cancellation.Dispose();
            }
        }
    }

    /// <summary>
    /// One try of the bring-up <paramref name="restored"/> owes a client, owning the client's ports: the ports still
    /// owed under the policy in force, set up and read back. Null when nothing was done: the client is suspended
    /// again, the bring-up owed is another restore's (or none), or none of its ports is left (the debt is then dropped).
    /// </summary>
    private async Task<(PortAssignment[] Ports, PortActionResult Result)?> BringOwedUpAsync(RestoreRecord restored, string clientId, CancellationToken cancellationToken)
    {
        if (StillOwed(restored, clientId) is not { } asked)
        {
            return null;
        }

        using var held = await _portLocks.AcquireAsync(PortKeys(clientId, asked), cancellationToken).ConfigureAwait(false);
        if (Current.IsSuspended(clientId) || StillOwed(restored, clientId) is not { } ports)
        {
            return null;
        }

        if (ports.Length == 0)
        {
            await OweAsync(restored, clientId, [], cancellationToken).ConfigureAwait(false);
            return null;
        }

        try
        {
            // Exactly the ports owed: a port of the client the restore read up, or one the controller never shut,
            // may be down for reasons of its own.
            var result = await _ports!.ReleaseAsync(clientId, ports, cancellationToken).ConfigureAwait(false);
            return (ports, !result.Verified && result.Failures.Count == 0
                ? result with { Failures = [$"{clientId}: ports not read back up"] }
                : result);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return (ports, new PortActionResult { Verified = false, Failures = [$"{clientId}: {e.Message}"] });
        }
    }

    /// <summary>
    /// The ports <paramref name="restored"/> still owes a client under the policy in force (empty when the policy no
    /// longer has the client, leaves its ports alone, or gives it none of them on the switch that had them); null
    /// when the bring-up owed to the client is not that restore's.
    /// </summary>
    private PortAssignment[]? StillOwed(RestoreRecord restored, string clientId) =>
        Current.OwedBringUps.TryGetValue(clientId, out var owed) && IsOf(owed, restored)
            ? [.. OwedUnder(_policy.Current, clientId, owed.Ports).Select(p => new PortAssignment { Switch = p.Switch, Ports = p.Ports })]
            : null;

    private static bool IsOf(OwedBringUp owed, RestoreRecord restored) =>
        string.Equals(owed.Restore.Suspension.Id, restored.Suspension.Id, StringComparison.Ordinal);

    /// <summary>
    /// Of <paramref name="ports"/>, those <paramref name="policy"/> still gives the client to shut, on the same
    /// switch at the same agent: a port given to another client, or on a switch moved to another agent, is not one
    /// the controller shut for this client.
    /// </summary>
    private static List<OwedSwitchPorts> OwedUnder(SitePolicy policy, string clientId, IReadOnlyList<OwedSwitchPorts> ports)
    {
        var kept = new List<OwedSwitchPorts>();
        if (policy.FindClient(clientId) is not { Kill.ShutPorts: true } client)
        {
            return kept;
        }

        var theirs = client.PortsToShut();
        foreach (var owed in ports)
        {
            if (!string.Equals(AgentOf(policy, owed.Switch), owed.Agent, StringComparison.Ordinal))
            {
                continue;
            }

            var names = theirs.Where(p => string.Equals(p.Switch, owed.Switch, StringComparison.Ordinal)).SelectMany(p => p.Ports).ToHashSet(StringComparer.Ordinal);
            var still = owed.Ports.Where(names.Contains).ToArray();
            if (still.Length > 0)
            {
                kept.Add(owed with { Ports = still });
            }
        }

        return kept;
    }

    /// <summary>The switch's SNMP agent as <c>address:port</c>; empty for a switch the policy does not define (nothing reaches it).</summary>
    private static string AgentOf(SitePolicy policy, string switchName) =>
        policy.FindSwitch(switchName) is { } sw ? string.Create(CultureInfo.InvariantCulture, $"{sw.Address}:{sw.Port}") : "";

    /// <summary>
    /// With the bring-up a restore owes the clients it lifts (caller holds the lock): every port the policy in force
    /// gives them to shut, for each client the restore leaves unsuspended whose ports are shut, saved with the lift.
    /// </summary>
    private SuspensionState Owe(SuspensionState lifted, SuspensionRecord suspension, PendingRestore pending, DateTimeOffset at)
    {
        if (_ports is null)
        {
            return lifted;
        }

        var policy = _policy.Current;
        var restore = new RestoreRecord
        {
            Suspension = Bare(suspension),
            RequestedBy = pending.RequestedBy,
            Reason = pending.Reason,
            Approvers = pending.Approvers,
            RestoredAt = at,
        };
        var next = lifted;
        foreach (var client in ClientsIn(suspension.Scope).Where(c => c.Kill.ShutPorts && !lifted.IsSuspended(c.Id)))
        {
            var ports = client.PortsToShut()
                .Where(p => p.Ports.Count > 0)
                .Select(p => new OwedSwitchPorts { Switch = p.Switch, Agent = AgentOf(policy, p.Switch), Ports = p.Ports })
                .ToArray();
            next = next.WithOwed(client.Id, ports.Length == 0 ? null : new OwedBringUp { Restore = restore, Ports = ports });
        }

        return next;
    }

    /// <summary>A suspension as a bring-up owed names it: without the enforcement detail the state keeps on it while in force.</summary>
    private static SuspensionRecord Bare(SuspensionRecord suspension) =>
        suspension with { Stages = [], Ports = null, Reassertions = [], Releases = [] };

    /// <summary>
    /// After a restore's own bring-up: what it owes each client it brought up is narrowed to the ports not read back
    /// up (durably; dropped when none is), and those still owed are tried again.
    /// </summary>
    private async Task SettleBringUpAsync(RestoreRecord restored, Dictionary<string, HashSet<SwitchPort>> notUp, CancellationToken stopping)
    {
        if (notUp.Count == 0)
        {
            return;
        }

        try
        {
            await UpdateOwedAsync(
                state =>
                {
                    foreach (var (clientId, ports) in notUp)
                    {
                        state = Narrowed(state, restored, clientId, ports);
                    }

                    return state;
                },
                stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && stopping.IsCancellationRequested)
        {
            // Stopping: the state keeps what the lift saved, and the next start brings those ports up.
            return;
        }

        foreach (var clientId in notUp.Keys)
        {
            if (Current.OwedBringUps.TryGetValue(clientId, out var owed) && IsOf(owed, restored))
            {
                BringUpLater(restored, clientId, FirstPortRetry);
            }
        }
    }

    /// <summary>What <paramref name="restored"/> owes a client narrowed to <paramref name="notUp"/>, durably (nothing when the debt is another restore's).</summary>
    private async Task OweAsync(RestoreRecord restored, string clientId, HashSet<SwitchPort> notUp, CancellationToken cancellationToken) =>
        await UpdateOwedAsync(state => Narrowed(state, restored, clientId, notUp), cancellationToken).ConfigureAwait(false);

    private static SuspensionState Narrowed(SuspensionState state, RestoreRecord restored, string clientId, HashSet<SwitchPort> notUp)
    {
        if (!state.OwedBringUps.TryGetValue(clientId, out var owed) || !IsOf(owed, restored))
        {
            return state;
        }

        var left = owed.Ports
            .Select(p => p with { Ports = p.Ports.Where(port => notUp.Contains(new SwitchPort(p.Switch, port))).ToArray() })
            .Where(p => p.Ports.Count > 0)
            .ToArray();
        if (left.Length == 0)
        {
            return state.WithOwed(clientId, null);
        }

        // Saved again only when it changed: a switch down for hours costs no write per try.
        return left.Sum(p => p.Ports.Count) == owed.Ports.Sum(p => p.Ports.Count) && owed.Restore.RestoredAt == restored.RestoredAt
            ? state
            : state.WithOwed(clientId, new OwedBringUp { Restore = restored with { Suspension = Bare(restored.Suspension) }, Ports = left });
    }

    /// <summary>
    /// The bring-ups owed under <paramref name="policy"/>: a client it no longer has, or whose ports it leaves alone,
    /// is owed none; ports it no longer gives the client (or on a switch moved to another agent) are dropped.
    /// </summary>
    private static SuspensionState OwedUnder(SuspensionState state, SitePolicy policy)
    {
        foreach (var (clientId, owed) in state.OwedBringUps)
        {
            var kept = OwedUnder(policy, clientId, owed.Ports);
            if (state.IsSuspended(clientId) || kept.Count == 0)
            {
                state = state.WithOwed(clientId, null);
            }
            else if (kept.Sum(p => p.Ports.Count) < owed.Ports.Sum(p => p.Ports.Count))
            {
                state = state.WithOwed(clientId, owed with { Ports = kept });
            }
        }

        return state;
    }

    /// <summary>
    /// Changes the bring-ups owed (under the lock, briefly: no save in it) and has the flusher save the state when
    /// they changed, or when an earlier change of them is not in the state file yet (<see cref="FlushAsync"/>:
    /// one save at a time, once per burst of changes, outside the lock, so a trip never waits behind them). Returns
    /// once a save has the change in the file (true) or one failed (false: the change stays in force, the observers
    /// hear of it, <see cref="ISuspensionObserver.OwedBringUpsNotSaved"/>, and the flusher tries again on the retry
    /// schedule).
    /// </summary>
    private async Task<bool> UpdateOwedAsync(Func<SuspensionState, SuspensionState> change, CancellationToken cancellationToken)
    {
        Task<bool> flushed;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var next = change(_state);
            if (!ReferenceEquals(next, _state))
            {
                var version = ++_stateVersion;
                foreach (var client in OwedChanged(_state, next))
                {
                    _owedUnsaved[client] = version;
                }

                Volatile.Write(ref _state, next);
            }

            if (_owedUnsaved.Count == 0)
            {
                return true;
            }

            // Started, or woken from its wait to try a failed save again: tried now (the next try saves even when
            // it changed nothing).
            flushed = FlushSoon();
        }
        finally
        {
            _lock.Release();
        }

        return await flushed.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Has the flusher save the changes not yet in the file (caller holds the lock, and has marked one): starts it,
    /// or wakes it when it waits to try a failed save again. Returns the outcome of its next save (true when the file
    /// has every change marked so far, by that save or another); false at once when the engine is stopping
    /// (<see cref="Dispose"/> saves them, if it still can).
    /// </summary>
    private Task<bool> FlushSoon()
    {
        if (_flushing)
        {
            _flushWake.TrySetResult();
            return _flushed.Task;
        }

        lock (_retryLock)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return Task.FromResult(false);
            }

            _flushing = true;
            var stopping = _stopping.Token;
            Track(Task.Run(() => FlushAsync(stopping), CancellationToken.None));
            return _flushed.Task;
        }
    }

    /// <summary>
    /// Saves the state while changes in force are not in the file (bring-ups owed narrowed or dropped, records of
    /// suspensions in force amended): the state as it is when a save starts (every change so far), one save at a
    /// time, and another after it only if more changes came meanwhile. The save takes the engine lock only to read
    /// the state, never across the write; a trip that comes meanwhile waits at most for the write under way (the
    /// file's slots are written in turn), so the write runs at the trip's priority (<see cref="TripPriority"/>),
    /// raised and restored on this thread around it alone. A save that fails is reported to the observers (naming
    /// every client whose debt the file has wrong, and every suspension whose record it has as it was) and tried
    /// again <see cref="FirstPortRetry"/> later, then twice as long each time (at most <see cref="PortRetryCap"/>),
    /// or at once with the next change or try, until the file has them: this save or any other (a trip's) succeeds.
    /// A file that names ports as owed that are not would have the next start bring them up again (ports an operator
    /// may have shut since), and one without an amendment starts with the record as it was; stopping, the engine
    /// saves what is pending once more (<see cref="Dispose"/>).
    /// </summary>
    private async Task FlushAsync(CancellationToken stopping)
    {
        var delay = FirstPortRetry;
        try
        {
            while (true)
            {
                SuspensionState state;
                long version;
                TaskCompletionSource<bool> flushed;
                Task wake;
                await _lock.WaitAsync(stopping).ConfigureAwait(false);
                try
                {
                    if (_owedUnsaved.Count == 0 && _amendedUnsaved.Count == 0)
                    {
                        _flushing = false;
                        return;
                    }

                    state = _state;
                    version = ++_stateVersion;
                    flushed = _flushed;
                    _flushed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _flushWake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wake = _flushWake.Task;
                }
                finally
                {
                    _lock.Release();
                }

                string? error = null;
                var priority = TripPriority.Raise();
                try
                {
                    Write(state, version);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    error = e.Message;
                }
                finally
                {
                    priority.RestoreNow();
                }

                bool pending;
                string[] clients;
                SuspensionRecord[] amended;
                await _lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    if (error is null)
                    {
                        Saved(version);
                    }

                    (pending, clients, amended) = Unsaved();
                }
                finally
                {
                    _lock.Release();
                }

                if (error is null || !pending)
                {
                    // In the file (by this save, or by a later one of the whole state that came first).
                    flushed.TrySetResult(true);
                    continue;
                }

                ReportNotSaved(clients, amended, error);
                flushed.TrySetResult(false);
                using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(stopping))
                {
                    var due = Task.Delay(delay, _time, waiting.Token);
                    await Task.WhenAny(due, wake).ConfigureAwait(false);
                    await waiting.CancelAsync().ConfigureAwait(false);
                }

                stopping.ThrowIfCancellationRequested();
                delay = NextRetryDelay(delay);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && stopping.IsCancellationRequested)
        {
            // Stopping: Dispose saves what is pending once more; a crash before then costs the next start a repeated
            // bring-up try of the ports the file still names, and the amendments not in the file.
        }
    }

    /// <summary>
    /// At a clean stop, once the background work has ended: the changes not yet in the file (bring-ups owed, records
    /// of suspensions in force amended) are saved (best effort; a failure is reported like any other, and the next
    /// start then finds the file as it is: it tries again the ports the file still names, and has the records as
    /// they were last saved).
    /// </summary>
    private void FlushUnsavedAtStop()
    {
        if (!_lock.Wait(TimeSpan.FromSeconds(5)))
        {
            return;
        }

        string[] clients;
        SuspensionRecord[] amended;
        string error;
        TaskCompletionSource<bool> waiting;
        try
        {
            if (_owedUnsaved.Count == 0 && _amendedUnsaved.Count == 0)
            {
                return;
            }

            try
            {
                Save(_state);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                (_, clients, amended) = Unsaved();
                error = e.Message;
                waiting = _flushed;
            }
        }
        finally
        {
            _lock.Release();
        }

        ReportNotSaved(clients, amended, error);

        // Whoever still waits for the flusher (it has stopped) hears the file does not have the change.
        waiting.TrySetResult(false);
    }

    /// <summary>
    /// What is in force but not in the file (caller holds the lock): whether anything is, the clients whose
    /// bring-up owed the file has wrong, and the records in force of the suspensions it has as they were.
    /// </summary>
    private (bool Pending, string[] Clients, SuspensionRecord[] Amended) Unsaved() => (
        _owedUnsaved.Count > 0 || _amendedUnsaved.Count > 0,
        [.. _owedUnsaved.Keys.Order(StringComparer.Ordinal)],
        [.. _state.Suspensions.Values.Where(r => _amendedUnsaved.ContainsKey(r.Id)).OrderBy(r => r.Scope, StringComparer.Ordinal)]);

    /// <summary>A save of the changes below failed: the observers hear of each, once.</summary>
    private void ReportNotSaved(string[] clients, SuspensionRecord[] amended, string error)
    {
        foreach (var observer in _observers)
        {
            if (clients.Length > 0)
            {
                observer.OwedBringUpsNotSaved(clients, error);
            }

            foreach (var record in amended)
            {
                observer.AmendmentNotSaved(record, error);
            }
        }
    }

    /// <summary>The clients whose bring-up owed differs between two states.</summary>
    private static IEnumerable<string> OwedChanged(SuspensionState before, SuspensionState after) =>
        before.OwedBringUps.Keys.Union(after.OwedBringUps.Keys, StringComparer.Ordinal).Where(client =>
            !before.OwedBringUps.TryGetValue(client, out var was)
            || !after.OwedBringUps.TryGetValue(client, out var now)
            || !ReferenceEquals(was, now));

    /// <summary>
    /// Saves the whole state (caller holds the lock, and <paramref name="next"/> is the state in force or one made
    /// from it): the changes not yet in the file (bring-ups owed, amended records) are in it once this succeeds.
    /// </summary>
    private void Save(SuspensionState next)
    {
        var version = ++_stateVersion;
        Write(next, version);
        Saved(version);
    }

    /// <summary>
    /// Writes a state numbered <paramref name="version"/>, after any save still writing and unless the file has a
    /// later state already (which carries this one: states are numbered in the order they came about, each made from
    /// the one before).
    /// </summary>
    private void Write(SuspensionState state, long version)
    {
        lock (_saveLock)
        {
            if (version <= _savedVersion)
            {
                return;
            }

            _store.Save(state);
            _savedVersion = version;
        }
    }

    /// <summary>
    /// A state numbered <paramref name="version"/> is in the file (caller holds the lock): the changes it carries
    /// (bring-ups owed, amended records) are saved.
    /// </summary>
    private void Saved(long version)
    {
        foreach (var unsaved in (ReadOnlySpan<Dictionary<string, long>>)[_owedUnsaved, _amendedUnsaved])
        {
            foreach (var (key, changed) in unsaved)
            {
                if (changed <= version)
                {
                    unsaved.Remove(key);
                }
            }
        }

        if (_owedUnsaved.Count == 0 && _amendedUnsaved.Count == 0)
        {
            // Those waiting for the flusher's next save: the file has their change.
            _flushed.TrySetResult(true);
            _flushed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Ends the bring-up tries of <paramref name="clientIds"/> (their ports are brought up, or shut, by what comes now).</summary>
    private void StopBringingUp(IEnumerable<string> clientIds)
    {
        var ended = new List<CancellationTokenSource>();
        lock (_retryLock)
        {
            foreach (var clientId in clientIds)
            {
                if (_bringUps.Remove(clientId, out var earlier))
                {
                    ended.Add(earlier);
                }
            }
        }

        ended.ForEach(End);
    }

    /// <summary>One client's bring-up, owning its ports; null when it is suspended again by then (nothing done).</summary>
    private async Task<PortActionResult?> BringClientUpAsync(ClientDefinition client, CancellationToken cancellationToken)
    {
        var ports = client.PortsToShut();
        using var held = await _portLocks.AcquireAsync(PortKeys(client.Id, ports), cancellationToken).ConfigureAwait(false);
        if (Current.IsSuspended(client.Id))
        {
            return null;
        }

        try
        {
            var result = await _ports!.BringUpAsync(client.Id, ports, cancellationToken).ConfigureAwait(false);
            return !result.Verified && result.Failures.Count == 0
                ? result with { Failures = [$"{client.Id}: ports not read back up"] }
                : result;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new PortActionResult { Verified = false, Failures = [$"{client.Id}: {e.Message}"] };
        }
    }

    private StageTiming RunLocalStage(SuspensionStage stage, string scope)
    {
        var started = _time.GetTimestamp();
        List<string>? failures = null;
        foreach (var enforcer in _enforcers)
        {
            if (enforcer.Stage != stage)
            {
                continue;
            }

            try
            {
                enforcer.Enforce(scope);
            }
            catch (Exception e)
            {
                // One enforcer failing must not stop the others: the state is already closed.
                (failures ??= []).Add($"{enforcer.GetType().Name}: {e.Message}");
            }
        }

        return new StageTiming
        {
            Stage = stage,
            Duration = _time.GetElapsedTime(started),
            Succeeded = failures is null,
            Detail = failures is null ? null : string.Join("; ", failures),
        };
    }

    private async Task<SuspensionRecord> RunRemoteStagesAsync(SuspensionRecord record, TaskCompletionSource enforced, CancellationToken cancellationToken)
    {
        try
        {
            return await RunRemoteStagesCoreAsync(record, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Reported (or given up on): retries of its ports may report theirs.
            _enforcing.TryRemove(record.Id, out _);
            enforced.TrySetResult();
        }
    }

    private async Task<SuspensionRecord> RunRemoteStagesCoreAsync(SuspensionRecord record, CancellationToken cancellationToken)
    {
        var stages = new List<StageTiming>(record.Stages);
        var started = _time.GetTimestamp();
        var shut = ClientsIn(record.Scope).Where(c => c.Kill.ShutPorts).Select(c => new PortTarget(c, c.PortsToShut())).ToArray();
        StageTiming portStage;
        PortActionResult? ports = null;
        if (_ports is null || shut.Length == 0)
        {
            portStage = new() { Stage = SuspensionStage.SwitchPorts, Duration = TimeSpan.Zero, Succeeded = shut.Length == 0, Detail = shut.Length == 0 ? "no ports to shut" : "no port shutter configured" };
        }
        else
        {
            ports = (await ShutPortsAsync(record, shut, cancellationToken).ConfigureAwait(false)).Result;
            portStage = new()
            {
                Stage = SuspensionStage.SwitchPorts,
                Duration = _time.GetElapsedTime(started),
                Succeeded = ports.Verified,
                Detail = ports.Failures.Count == 0 ? null : string.Join("; ", ports.Failures),
            };
        }

        stages.Add(portStage);
        NotifyStage(record, portStage);

        var webhookStage = await SendWebhooksAsync(record with { Stages = stages, Ports = ports }, detailWhenSent: null, cancellationToken).ConfigureAwait(false);
        stages.Add(webhookStage);
        NotifyStage(record, webhookStage);

        // What changed on the record since the trip (a failed audit, a reassertion) stays.
        var final = await AmendInForceAsync(record, r => r with { Stages = stages, Ports = ports }, cancellationToken).ConfigureAwait(false)
            ?? record with { Stages = stages, Ports = ports };

        foreach (var observer in _observers)
        {
            observer.Enforced(final);
        }

        return final;
    }

    /// <summary>
    /// Changes the record of a suspension while it is still the one in force (same id): in force at once, under the
    /// lock but with no save in it, and saved by the flusher (<see cref="FlushAsync"/>: outside the lock, once per
    /// burst of changes, so a trip never waits behind them). Returns once a save has the change in the file or one
    /// failed: then the observers have heard of it (<see cref="ISuspensionObserver.AmendmentNotSaved"/>), and the
    /// flusher saves the state again on the retry schedule, with any other save before that, and at a clean stop,
    /// until the file has it. A save that fails loses only the change, on a crash: the suspension itself is durable
    /// already. Returns the record as changed, or null when that suspension is no longer in force.
    /// </summary>
    private async Task<SuspensionRecord?> AmendInForceAsync(SuspensionRecord record, Func<SuspensionRecord, SuspensionRecord> amend, CancellationToken cancellationToken)
    {
        SuspensionRecord amended;
        Task<bool> flushed;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_state.Suspensions.TryGetValue(record.Scope, out var inForce) || !string.Equals(inForce.Id, record.Id, StringComparison.Ordinal))
            {
                return null;
            }

            amended = amend(inForce);
            _amendedUnsaved[amended.Id] = ++_stateVersion;
            Volatile.Write(ref _state, _state.With(amended));
            flushed = FlushSoon();
        }
        finally
        {
            _lock.Release();
        }

        try
        {
            await flushed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: in force, and saved at the stop if the flusher has not saved it by then.
        }

        return amended;
    }

    /// <summary>
    /// Shuts the ports of the clients a suspension covers, each client once it owns its ports (clients whose
    /// ports are free do not wait for one whose ports another shut or retry holds), and each only while the
    /// client is still suspended at that moment (a restore completed in between keeps its ports up). A port
    /// counts as shut only when it was read back down; one that was not is tried again while
    /// <paramref name="record"/> is in force (<see cref="RetryPortsAsync"/>). A try of <paramref name="retry"/>
    /// shuts only the ports still to try once it owns them (another shut may have read them down meanwhile).
    /// </summary>
    private async Task<PortShut> ShutPortsAsync(SuspensionRecord record, IReadOnlyList<PortTarget> targets, CancellationToken cancellationToken, PortRetry? retry = null)
    {
        var outcomes = await Task.WhenAll(targets.Select(t => ShutClientAsync(record, t, retry, cancellationToken))).ConfigureAwait(false);
        var failures = new List<string>();
        var verified = true;
        var unverified = 0;
        var shut = new List<PortTarget>(targets.Count);
        for (var i = 0; i < targets.Count; i++)
        {
            if (outcomes[i] is not { } outcome)
            {
                continue;
            }

            shut.Add(targets[i] with { Ports = outcome.Ports });
            verified &= outcome.Verified;
            failures.AddRange(outcome.Failures);
            unverified += outcome.Unverified;
        }

        return new PortShut(new PortActionResult { Verified = verified, Failures = failures }, shut, unverified);
    }

    /// <summary>
    /// One client's shut, owning its ports: null when the client is no longer suspended by then, or (a try of
    /// <paramref name="retry"/>) none of its ports is still to try (nothing done); otherwise the ports shut,
    /// whether they read back down, the failures, and how many did not.
    /// </summary>
    private async Task<ClientShut?> ShutClientAsync(SuspensionRecord record, PortTarget target, PortRetry? retry, CancellationToken cancellationToken)
    {
        var (client, ports) = target;
        using var held = await _portLocks.AcquireAsync(PortKeys(client.Id, ports), cancellationToken).ConfigureAwait(false);
        if (!Current.IsSuspended(client.Id))
        {
            return null;
        }

        if (retry is not null && (ports = StillToTry(retry, client.Id, ports)).Length == 0)
        {
            return null;
        }

        var failures = new List<string>();
        bool verified;
        PortActionResult? result = null;
        try
        {
            result = await _ports!.ShutAsync(client.Id, ports, cancellationToken).ConfigureAwait(false);
            verified = result.Verified && result.Failures.Count == 0;
            failures.AddRange(result.Failures);
            if (!result.Verified && result.Failures.Count == 0)
            {
                failures.Add($"{client.Id}: ports not read back down");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            verified = false;
            failures.Add($"{client.Id}: {e.Message}");
        }

        var notDown = NotReadBack(ports, result);
        NoteShut(record, client.Id, ports, notDown);
        return new ClientShut(ports, verified, failures, notDown.Count);
    }

    /// <summary>The ports of <paramref name="asked"/> a retry still has to try for the client (those no shut has read down since).</summary>
    private PortAssignment[] StillToTry(PortRetry retry, string clientId, PortAssignment[] asked)
    {
        lock (_retryLock)
        {
            if (!retry.Ports.TryGetValue(clientId, out var pending))
            {
                return [];
            }

            return [.. asked
                .Select(p => p with { Ports = p.Ports.Where(port => pending.Contains(new SwitchPort(p.Switch, port))).ToArray() })
                .Where(p => p.Ports.Count > 0)];
        }
    }

    /// <summary>
    /// The ports a piece of work on a client owns: those asked for and every port the policy in force gives
    /// the client (a shutter may act on the client's ports as a whole).
    /// </summary>
    private IEnumerable<string> PortKeys(string clientId, PortAssignment[] asked) =>
        (_policy.Current.FindClient(clientId) is { } client ? client.PortsToShut() : [])
            .Concat(asked)
            .SelectMany(p => p.Ports.Select(port => PortLocks.Key(p.Switch, port)));

    /// <summary>
    /// The ports a shut (or a bring-up) did not read back down (up): those its failures name (<c>switch:port: reason</c>, as
    /// <see cref="PortActionResult.Failures"/> spells them), or every port asked for when it failed without
    /// naming one of them (it threw, or could not read back).
    /// </summary>
    private static HashSet<SwitchPort> NotReadBack(PortAssignment[] asked, PortActionResult? result)
    {
        var all = asked.SelectMany(p => p.Ports.Select(port => new SwitchPort(p.Switch, port))).ToHashSet();
        if (result is { Verified: true, Failures.Count: 0 })
        {
            return [];
        }

        if (result is null)
        {
            return all;
        }

        var named = all.Where(p => result.Failures.Any(f => f.StartsWith($"{p.Switch}:{p.Port}:", StringComparison.OrdinalIgnoreCase))).ToHashSet();
        return named.Count > 0 ? named : all;
    }

    private void NotifyStage(SuspensionRecord record, StageTiming timing)
    {
        foreach (var observer in _observers)
        {
            observer.StageCompleted(record, timing);
        }
    }

    private IEnumerable<ClientDefinition> ClientsIn(string scope) =>
        string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal)
            ? _policy.Current.Clients
            : _policy.Current.FindClient(scope) is { } client ? [client] : [];

    /// <summary>
    /// Ports a reload took away from a client a suspension in force covers: to bring up for the clients that now
    /// have them and need them not shut (not suspended, or kill.shut_ports off), and those now no client's, left shut.
    /// </summary>
    private sealed record TakenPorts(SuspensionRecord Record, string From, PortTarget[] Up, List<string> LeftShut);

    /// <summary>Ports of one client to shut.</summary>
    private readonly record struct PortTarget(ClientDefinition Client, PortAssignment[] Ports);

    /// <summary>One port of one switch, by the names the policy gives them.</summary>
    private readonly record struct SwitchPort(string Switch, string Port);

    /// <summary>
    /// A shut as read back: the clients it shut (those still suspended when their turn came) and how many of
    /// their ports were not read back down.
    /// </summary>
    private readonly record struct PortShut(PortActionResult Result, List<PortTarget> Shut, int Unverified);

    /// <summary>One client's shut as read back: the ports shut, all of them down, the failures, how many ports were not read back down.</summary>
    private sealed record ClientShut(PortAssignment[] Ports, bool Verified, List<string> Failures, int Unverified);

    /// <summary>
    /// A suspension's port work after its trip's own shut: whose turn it is (one piece at a time), and the
    /// report of the last piece that shut ports, which the next one's report follows.
    /// </summary>
    private sealed class SuspensionPortWork
    {
        public SemaphoreSlim Turn { get; } = new(1, 1);

        /// <summary>
        /// Done when what the suspension's port work is to report so far is out (under the engine's retry lock):
        /// the trip's enforced record, then each piece of work that shut ports, in turn.
        /// </summary>
        public required Task Reported { get; set; }
    }

    /// <summary>A suspension's ports that did not read back down, and the cancellation of the loop that tries them again.</summary>
    private sealed class PortRetry(SuspensionRecord record)
    {
        public SuspensionRecord Record { get; } = record;

        public CancellationTokenSource Cancellation { get; } = new();

        /// <summary>Client id → its ports not read back down (under the engine's retry lock).</summary>
        public Dictionary<string, HashSet<SwitchPort>> Ports { get; } = new(StringComparer.Ordinal);
    }
}
