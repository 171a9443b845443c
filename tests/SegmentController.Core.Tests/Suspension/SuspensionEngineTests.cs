using System.Collections.Concurrent;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

public sealed class SuspensionEngineTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _time = new();
    private readonly ConcurrentQueue<string> _log = new();

    public void Dispose() => _dir.Dispose();

    private string StatePath => _dir.File("state/suspension.state");

    private SuspensionEngine NewEngine(SitePolicy? policy = null, ISuspensionStateStore? store = null, IPortShutter? ports = null, ISuspensionObserver? observer = null) => new(
        store ?? new FileSuspensionStateStore(StatePath),
        new StaticPolicyProvider(policy ?? TestPolicies.TwoClients()),
        [
            new RecordingEnforcer(SuspensionStage.UpstreamPool, _log),
            new RecordingEnforcer(SuspensionStage.Gate, _log),
            new RecordingEnforcer(SuspensionStage.InFlight, _log),
        ],
        [ports ?? new RecordingPortShutter(_log)],
        [],
        observer is null ? [] : [observer],
        _time);

    private static TripRequest Trip(string scope, SuspensionTrigger trigger = SuspensionTrigger.Operator) => new()
    {
        Scope = scope,
        Trigger = trigger,
        Actor = "alice",
        Reason = "incident 42",
    };

    [Fact]
    public async Task Trip_Acknowledged_IsDurableInAFreshStore()
    {
        using var engine = NewEngine();
        var result = await engine.TripAsync(Trip("acme"), CancellationToken.None);

        Assert.True(result.Created);
        var reread = new FileSuspensionStateStore(StatePath).Load();
        Assert.Null(reread.Error);
        Assert.True(reread.State!.IsSuspended("acme"));
        Assert.False(reread.State.IsSuspended("globex"));
        Assert.Equal(result.Record.Id, reread.State.Suspensions["acme"].Id);
    }

    [Fact]
    public async Task Trip_WaitingForTheEngineLockBehindARestoresSave_ThePersistStageCountsTheWait()
    {
        var store = new GatedSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1), store);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        // The restore's save is slow to reach the disk, under the engine lock; a trip comes meanwhile.
        store.HoldNext();
        var restore = Task.Run(() => engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None));
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var trip = engine.TripAsync(Trip("globex"), CancellationToken.None);
        Assert.False(trip.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(25));
        store.Release();

        var persist = (await trip.WaitAsync(TimeSpan.FromSeconds(30))).Record.Stages.Single(s => s.Stage == SuspensionStage.Persist);
        Assert.Equal(RestoreStatus.Restored, (await restore).Status);
        Assert.Equal(TimeSpan.FromMilliseconds(25), persist.Duration);
        Assert.StartsWith("waited 25 ms for the engine lock", persist.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trip_RunsLocalStagesInOrderThenPortsAndWebhooks()
    {
        using var engine = NewEngine();
        var result = await engine.TripAsync(Trip("acme"), CancellationToken.None);

        Assert.Equal(
            [SuspensionStage.Persist, SuspensionStage.Gate, SuspensionStage.InFlight, SuspensionStage.UpstreamPool],
            result.Record.Stages.Select(s => s.Stage));
        Assert.Equal(["gate:acme", "inflight:acme", "upstream-pool:acme"], _log.Take(3));

        var final = await result.Completion;
        Assert.Equal(
            [SuspensionStage.Persist, SuspensionStage.Gate, SuspensionStage.InFlight, SuspensionStage.UpstreamPool, SuspensionStage.SwitchPorts, SuspensionStage.Webhooks],
            final.Stages.Select(s => s.Stage));
        Assert.Contains("shut:acme:sw1/Gi1/0/1", _log);
        Assert.Equal(6, new FileSuspensionStateStore(StatePath).Load().State!.Suspensions["acme"].Stages.Count);
    }

    [Fact]
    public async Task Trip_StateCannotBeWritten_NotAcknowledgedAndNotInForce()
    {
        using var engine = NewEngine(store: new FileSuspensionStateStore(_dir.File("blocker/suspension.state")));
        Assert.False(engine.IsSuspended("acme"));

        // The state directory replaced by a regular file after start: the write fails.
        Directory.Delete(_dir.File("blocker"), recursive: true);
        await File.WriteAllTextAsync(_dir.File("blocker"), "x");

        await Assert.ThrowsAnyAsync<IOException>(() => engine.TripAsync(Trip("acme"), CancellationToken.None));
        Assert.False(engine.IsSuspended("acme"));
        Assert.Empty(_log);
    }

    [Fact]
    public void Start_StateCannotBeLaidOut_EveryClientSuspended()
    {
        // A regular file where the state directory should be: no trip could be made durable.
        File.WriteAllText(_dir.File("blocker"), "x");
        using var engine = NewEngine(store: new FileSuspensionStateStore(_dir.File("blocker/suspension.state")));

        Assert.True(engine.IsSuspended("acme"));
        Assert.True(engine.IsSuspended("globex"));
        var suspension = Assert.Single(engine.Current.Suspensions.Values);
        Assert.Equal(SuspensionNames.AllClients, suspension.Scope);
        Assert.Equal(SuspensionTrigger.StateUnreadable, suspension.Trigger);
        Assert.Contains("blocker", suspension.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trip_Twice_SecondReturnsTheExistingSuspension()
    {
        using var engine = NewEngine();
        var first = await engine.TripAsync(Trip("acme"), CancellationToken.None);
        var second = await engine.TripAsync(Trip("acme", SuspensionTrigger.Finding), CancellationToken.None);

        Assert.False(second.Created);
        Assert.Equal(first.Record.Id, second.Record.Id);
    }

    [Fact]
    public async Task Trip_UnknownClient_Throws()
    {
        using var engine = NewEngine();
        await Assert.ThrowsAsync<ArgumentException>(() => engine.TripAsync(Trip("initech"), CancellationToken.None));
    }

    [Fact]
    public async Task Restart_WhileSuspended_StaysSuspended()
    {
        using (var engine = NewEngine())
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        }

        using var restarted = NewEngine();
        Assert.True(restarted.IsSuspended("acme"));
        Assert.False(restarted.IsSuspended("globex"));
    }

    [Fact]
    public async Task Restart_WhileSuspended_ObserversToldInForceNotTrippedAgain()
    {
        var first = new CountingObserver();
        using (var engine = NewEngine(observer: first))
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        }

        var second = new CountingObserver();
        using var restarted = NewEngine(observer: second);

        Assert.Equal(["acme"], first.Tripped);
        Assert.Empty(second.Tripped);
        Assert.Equal(["acme"], second.InForce);
    }

    [Fact]
    public async Task Start_StateCorrupt_FailClosedSuspensionCountsAsATrip()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        await File.WriteAllTextAsync(StatePath, "not a state");
        var observer = new CountingObserver();

        using var engine = NewEngine(observer: observer);

        Assert.Equal([SuspensionNames.AllClients], observer.Tripped);
        Assert.Empty(observer.InForce);
    }

    private sealed class CountingObserver : ISuspensionObserver
    {
        public List<string> Tripped { get; } = [];

        public List<string> InForce { get; } = [];

        public List<SuspensionRecord> Enforced { get; } = [];

        public List<string> RestoreRequests { get; } = [];

        public List<string> Approvals { get; } = [];

        public List<RestoreRecord> Restored { get; } = [];

        public List<(SuspensionRecord Record, TripRequest Request, PendingRestore? Withdrawn)> Retripped { get; } = [];

        void ISuspensionObserver.Tripped(SuspensionRecord record) => Tripped.Add(record.Scope);

        void ISuspensionObserver.Retripped(SuspensionRecord record, TripRequest request, PendingRestore? withdrawn) => Retripped.Add((record, request, withdrawn));

        public void InForceAtStart(SuspensionRecord record) => InForce.Add(record.Scope);

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        void ISuspensionObserver.Enforced(SuspensionRecord record) => Enforced.Add(record);

        void ISuspensionObserver.RestoreRequested(SuspensionRecord suspension, PendingRestore pending) => RestoreRequests.Add(suspension.Scope);

        void ISuspensionObserver.RestoreApproved(SuspensionRecord suspension, PendingRestore pending, string approver) => Approvals.Add(approver);

        void ISuspensionObserver.Restored(RestoreRecord record) => Restored.Add(record);

        public void StateUnreadable(string message)
        {
        }
    }

    [Fact]
    public async Task Restart_PortBroughtUpWhileDown_ShutAgainVerifiedAndRecorded()
    {
        var switchPorts = new PortTableShutter();
        using (var engine = NewEngine(ports: switchPorts))
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        }

        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        switchPorts.Up["sw1:Gi1/0/1"] = true; // someone at the switch while no controller ran

        using var restarted = NewEngine(ports: switchPorts);
        var made = await restarted.ReassertAsync(CancellationToken.None);

        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.False(switchPorts.Up.ContainsKey("sw1:Gi1/0/2"));
        var reassertion = Assert.Single(made);
        Assert.True(reassertion.Verified);
        Assert.Equal(["acme"], reassertion.Clients);
        var onDisk = new FileSuspensionStateStore(StatePath).Load().State!.Suspensions["acme"];
        Assert.True(Assert.Single(onDisk.Reassertions).Verified);
        Assert.Equal(6, onDisk.Stages.Count);
    }

    [Fact]
    public async Task Restart_PortsCannotBeShut_RecordedAsNotVerifiedAndStillSuspended()
    {
        using (var engine = NewEngine())
        {
            await (await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None)).Completion;
        }

        var switchPorts = new PortTableShutter { Broken = { "sw1:Gi1/0/2" } };
        using var restarted = NewEngine(ports: switchPorts);
        var reassertion = Assert.Single(await restarted.ReassertAsync(CancellationToken.None));

        Assert.False(reassertion.Verified);
        Assert.Equal(["acme", "globex"], reassertion.Clients);
        Assert.Equal(["sw1:Gi1/0/2: no response"], reassertion.Failures);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.True(restarted.IsSuspended("globex"));
        Assert.False(Assert.Single(new FileSuspensionStateStore(StatePath).Load().State!.Suspensions[SuspensionNames.AllClients].Reassertions).Verified);
    }

    [Fact]
    public async Task Restart_NothingSuspended_NoPortTouched()
    {
        var switchPorts = new PortTableShutter();
        using var engine = NewEngine(ports: switchPorts);

        Assert.Empty(await engine.ReassertAsync(CancellationToken.None));
        Assert.Equal(0, switchPorts.ShutCalls);
    }

    [Fact]
    public async Task Restart_WithRestorePending_FirstApprovalKeptSecondCompletes()
    {
        using (var engine = NewEngine())
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
            var requested = await engine.RequestRestoreAsync("acme", "alice", "root cause fixed", CancellationToken.None);
            Assert.Equal(RestoreStatus.PendingApproval, requested.Status);
            Assert.Contains("survive a controller restart", requested.Message, StringComparison.Ordinal);
        }

        using var restarted = NewEngine();
        Assert.True(restarted.IsSuspended("acme"));
        Assert.Equal(["alice"], restarted.Current.PendingRestores["acme"].Approvers);

        // The first approver does not count twice across a restart either.
        Assert.Equal(RestoreStatus.Refused, (await restarted.ApproveRestoreAsync("acme", "Alice", CancellationToken.None)).Status);
        var approved = await restarted.ApproveRestoreAsync("acme", "bob", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, approved.Status);
        Assert.Equal(["alice", "bob"], approved.Record!.Approvers);
        Assert.Equal("root cause fixed", approved.Record.Reason);
        var onDisk = new FileSuspensionStateStore(StatePath).Load().State!;
        Assert.False(onDisk.IsSuspended("acme"));
        Assert.Empty(onDisk.PendingRestores);
    }

    [Fact]
    public async Task Restart_PendingRestoreOfAnotherSuspension_Dropped()
    {
        using (var engine = NewEngine())
        {
            await engine.TripAsync(Trip("acme"), CancellationToken.None);
            await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        }

        // The state as someone might leave it: a pending restore naming a suspension no longer in force.
        var store = new FileSuspensionStateStore(StatePath);
        var state = store.Load().State!;
        store.Save(state with { PendingRestores = new Dictionary<string, PendingRestore> { ["acme"] = state.PendingRestores["acme"] with { SuspensionId = "old" } } });

        using var restarted = NewEngine();
        Assert.Empty(restarted.Current.PendingRestores);
        Assert.Equal(RestoreStatus.Refused, (await restarted.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);
        Assert.True(restarted.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_PendingApprovalCannotBeSaved_Refused()
    {
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = NewEngine(store: store);
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        store.Failing = true;

        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.Contains("could not be recorded durably", outcome.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Current.PendingRestores);
        store.Failing = false;
        Assert.Equal(RestoreStatus.Refused, (await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"suspensions\":{}}\nsha256:0000")]
    [InlineData("")]
    public async Task Start_StateCorrupt_EveryClientSuspended(string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        await File.WriteAllTextAsync(StatePath, content);

        using var engine = NewEngine();

        Assert.True(engine.Current.AllSuspended);
        Assert.True(engine.IsSuspended("acme"));
        Assert.True(engine.IsSuspended("globex"));
        Assert.Equal(SuspensionTrigger.StateUnreadable, engine.Current.Suspensions[SuspensionNames.AllClients].Trigger);
    }

    [Fact]
    public async Task Start_StateTamperedAfterWrite_EveryClientSuspended()
    {
        using (var engine = NewEngine())
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        }

        var text = await File.ReadAllTextAsync(StatePath);
        await File.WriteAllTextAsync(StatePath, text.Replace("\"acme\"", "\"acmf\"", StringComparison.Ordinal));

        using var restarted = NewEngine();
        Assert.True(restarted.Current.AllSuspended);
    }

    [Fact]
    public async Task Restore_TwoDistinctApprovers_Restores()
    {
        using var engine = NewEngine();
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        var requested = await engine.RequestRestoreAsync("acme", "alice", "root cause fixed", CancellationToken.None);
        Assert.Equal(RestoreStatus.PendingApproval, requested.Status);
        Assert.True(engine.IsSuspended("acme"));

        var approved = await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, approved.Status);
        Assert.Equal(["alice", "bob"], approved.Record!.Approvers);
        Assert.False(engine.IsSuspended("acme"));
        Assert.False(new FileSuspensionStateStore(StatePath).Load().State!.IsSuspended("acme"));
        Assert.Contains("up:acme", _log);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("Alice")]
    [InlineData(" alice ")]
    public async Task Restore_SamePersonApprovesTwice_Refused(string second)
    {
        using var engine = NewEngine();
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        await engine.RequestRestoreAsync("acme", "alice", "root cause fixed", CancellationToken.None);

        var outcome = await engine.ApproveRestoreAsync("acme", second, CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Approve_NamingASuspensionLiftedAndTrippedAgain_RefusedAndTheNewOneStays()
    {
        using var engine = NewEngine();
        var first = (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Record.Id;
        await engine.RequestRestoreAsync("acme", "alice", "first incident resolved", CancellationToken.None);
        var seen = engine.Current.PendingRestores["acme"];
        Assert.Equal(RestoreStatus.Restored, (await engine.ApproveRestoreAsync("acme", first, seen, "bob", CancellationToken.None)).Status);
        _time.Advance(TimeSpan.FromSeconds(1));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        await engine.RequestRestoreAsync("acme", "alice", "second incident resolved?", CancellationToken.None);

        var outcome = await engine.ApproveRestoreAsync("acme", first, seen, "carol", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.Contains("suspension changed", outcome.Message, StringComparison.Ordinal);
        Assert.True(engine.IsSuspended("acme"));
        Assert.Equal(["alice"], engine.Current.PendingRestores["acme"].Approvers);
    }

    [Fact]
    public async Task Approve_OfARequestAReTripWithdrew_RefusedEvenWhenAskedForAgain()
    {
        using var engine = NewEngine();
        var id = (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Record.Id;
        await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        var seen = engine.Current.PendingRestores["acme"];
        _time.Advance(TimeSpan.FromSeconds(1));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        await engine.RequestRestoreAsync("acme", "alice", "fixed, the new incident too", CancellationToken.None);

        var stale = await engine.ApproveRestoreAsync("acme", id, seen, "bob", CancellationToken.None);
        var none = await engine.ApproveRestoreAsync("acme", id, null, "bob", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, stale.Status);
        Assert.Equal(RestoreStatus.Refused, none.Status);
        Assert.True(engine.IsSuspended("acme"));
        var current = engine.Current.PendingRestores["acme"];
        Assert.Equal(RestoreStatus.Restored, (await engine.ApproveRestoreAsync("acme", id, current, "bob", CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Request_NamingASuspensionLiftedAndTrippedAgain_RefusedAndNothingPending()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1));
        var first = (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Record.Id;
        Assert.Equal(RestoreStatus.Restored, (await engine.RequestRestoreAsync("acme", first, "bob", "false alarm", CancellationToken.None)).Status);
        await engine.TripAsync(Trip("acme"), CancellationToken.None);

        var outcome = await engine.RequestRestoreAsync("acme", first, "alice", "false alarm", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.True(engine.IsSuspended("acme"));
        Assert.Empty(engine.Current.PendingRestores);
    }

    [Fact]
    public async Task Restore_WithoutReason_Refused()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);

        var outcome = await engine.RequestRestoreAsync("acme", "alice", "  ", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_PolicyWantsOnePerson_RestoresOnRequest()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);

        var outcome = await engine.RequestRestoreAsync("acme", "alice", "false positive", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.False(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_ApprovalWithoutRequest_Refused()
    {
        using var engine = NewEngine();
        await engine.TripAsync(Trip("acme"), CancellationToken.None);

        var outcome = await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
    }

    [Fact]
    public async Task Retrip_WhileRestorePending_WithdrawsItDurablyAndTheApprovalIsRefused()
    {
        var observer = new CountingObserver();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using (var engine = NewEngine(store: store, observer: observer))
        {
            var first = await engine.TripAsync(Trip("acme"), CancellationToken.None);
            await engine.RequestRestoreAsync("acme", "alice", "false positive", CancellationToken.None);

            // A new incident while the approvals are gathered: approvals given before it do not lift it.
            var again = await engine.TripAsync(
                new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Finding, Actor = "capture", Reason = "client-vlan-leak on sw1/Gi1/0/4", Rule = "client-vlan-leak" },
                CancellationToken.None);

            Assert.False(again.Created);
            Assert.Equal(first.Record.Id, again.Record.Id);
            var (record, request, withdrawn) = Assert.Single(observer.Retripped);
            Assert.Equal(first.Record.Id, record.Id);
            Assert.Equal("client-vlan-leak", request.Rule);
            Assert.Equal(["alice"], withdrawn!.Approvers);
            Assert.Empty(engine.Current.PendingRestores);

            var approval = await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);
            Assert.Equal(RestoreStatus.Refused, approval.Status);
            Assert.True(engine.IsSuspended("acme"));
            Assert.Empty(observer.Restored);
        }

        // Withdrawn on disk too: after a restart bob's approval still finds nothing to approve.
        using var restarted = NewEngine();
        Assert.Empty(restarted.Current.PendingRestores);
        Assert.Equal(RestoreStatus.Refused, (await restarted.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);
        Assert.True(restarted.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_LiftCannotBeSaved_RefusedStillSuspendedNothingLifted_ThenLiftedWhenTheDiskHasRoom()
    {
        var observer = new CountingObserver();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = NewEngine(store: store, observer: observer);
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        Assert.Equal(RestoreStatus.PendingApproval, (await engine.RequestRestoreAsync("acme", "alice", "false positive", CancellationToken.None)).Status);

        // The second approval would lift it, but the lift cannot be made durable: an answer, not an error.
        store.Failing = true;
        var refused = await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);
        Assert.Equal(RestoreStatus.Refused, refused.Status);
        Assert.Contains("could not be recorded durably (No space left on device)", refused.Message, StringComparison.Ordinal);
        Assert.True(engine.IsSuspended("acme"));
        Assert.Empty(observer.Restored);
        Assert.Equal(["alice"], engine.Current.PendingRestores["acme"].Approvers);

        store.Failing = false;
        Assert.Equal(RestoreStatus.Restored, (await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);
        Assert.False(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Retrip_NothingPending_SavesNothingAndTellsNoOne()
    {
        var observer = new CountingObserver();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = NewEngine(store: store, observer: observer);
        await engine.TripAsync(Trip("acme"), CancellationToken.None);

        // A finding that repeats while the client is suspended and no restore is asked for changes nothing:
        // no disk write per repeat (a failing disk would show it).
        store.Failing = true;
        var again = await engine.TripAsync(Trip("acme", SuspensionTrigger.Finding), CancellationToken.None);

        Assert.False(again.Created);
        Assert.Empty(observer.Retripped);
        Assert.Equal(["acme"], observer.Tripped);
    }

    [Fact]
    public async Task Retrip_SaveFails_PendingRestoreWithdrawnInMemoryReportedAndTheTripReportsTheError()
    {
        var observer = new CountingObserver();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = NewEngine(store: store, observer: observer);
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        await engine.RequestRestoreAsync("acme", "alice", "false positive", CancellationToken.None);

        store.Failing = true;
        var error = await Assert.ThrowsAnyAsync<IOException>(() => engine.TripAsync(Trip("acme", SuspensionTrigger.Finding), CancellationToken.None));
        store.Failing = false;
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);

        // On record all the same (the evidence store is not the state file): the withdrawal and its trigger.
        var (_, request, withdrawn) = Assert.Single(observer.Retripped);
        Assert.Equal(SuspensionTrigger.Finding, request.Trigger);
        Assert.Equal(["alice"], withdrawn!.Approvers);

        // The stricter state is the one in force: the approval finds nothing pending.
        Assert.Equal(RestoreStatus.Refused, (await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Retrip_SaveThrowsSomethingElse_PendingRestoreStillWithdrawnAndTheTripReportsAnIOException()
    {
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath)) { Error = () => new UnauthorizedAccessException("Access to the path is denied.") };
        using var engine = NewEngine(store: store);
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        await engine.RequestRestoreAsync("acme", "alice", "false positive", CancellationToken.None);

        store.Failing = true;
        await Assert.ThrowsAsync<IOException>(() => engine.TripAsync(Trip("acme", SuspensionTrigger.Finding), CancellationToken.None));
        store.Failing = false;

        // Approvals given before the new incident do not lift it, whatever kind of error the save met.
        Assert.Equal(RestoreStatus.Refused, (await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_AuditFailedWhileSuspendedByAnOperator_RefusedUntilALaterAuditPassesAcrossARestart()
    {
        var policy = TestPolicies.TwoClients(approvers: 1, requireAudit: false);
        var observer = new CountingObserver();
        using (var engine = NewEngine(policy, observer: observer))
        {
            var trip = await engine.TripAsync(Trip("acme"), CancellationToken.None);
            _time.Advance(TimeSpan.FromMinutes(10));
            await engine.RecordAuditAsync("acme", passed: false, "auditor", "VLAN 20 on port 4", CancellationToken.None);

            var (record, request, _) = Assert.Single(observer.Retripped);
            Assert.Equal(trip.Record.Id, record.Id);
            Assert.Equal(SuspensionTrigger.Audit, request.Trigger);
            Assert.Equal(_time.GetUtcNow(), record.FailedAuditAt);
            Assert.Equal(SuspensionTrigger.Operator, engine.Current.Suspensions["acme"].Trigger);

            var refused = await engine.RequestRestoreAsync("acme", "alice", "operator trip done with", CancellationToken.None);
            Assert.Equal(RestoreStatus.Refused, refused.Status);
            Assert.Contains("an audit failed at", refused.Message, StringComparison.Ordinal);
        }

        using var restarted = NewEngine(policy);
        Assert.Equal(RestoreStatus.Refused, (await restarted.RequestRestoreAsync("acme", "alice", "after restart", CancellationToken.None)).Status);

        // An audit that passed before the failure does not count; one after it does.
        _time.Advance(TimeSpan.FromMinutes(5));
        await restarted.RecordAuditAsync("acme", passed: true, "auditor", "re-audit ok", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, (await restarted.RequestRestoreAsync("acme", "alice", "re-audit passed", CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Restore_PassingAuditBeforeTheFailureWhileSuspended_DoesNotCount()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1, requireAudit: true));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await engine.RecordAuditAsync("acme", passed: true, "auditor", "ok", CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await engine.RecordAuditAsync("acme", passed: false, "auditor", "port 4 moved to VLAN 20", CancellationToken.None);

        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);

        Assert.Equal(RestoreStatus.Refused, outcome.Status);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_SiteTrippedAndLiftedWhileAClientRestoreIsPending_ClientRestoreStillCompletes()
    {
        using var engine = NewEngine();
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None);
        await engine.RequestRestoreAsync(SuspensionNames.AllClients, "carol", "site ok", CancellationToken.None);
        await engine.ApproveRestoreAsync(SuspensionNames.AllClients, "dave", CancellationToken.None);

        // The acme request still stands for the same acme record: bob's approval completes it.
        var outcome = await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.False(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_PassingAuditRequired_RefusedUntilAuditSinceTrip()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1, requireAudit: true));
        await engine.RecordAuditAsync("acme", passed: true, "auditor", "ok", CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);

        var early = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        Assert.Equal(RestoreStatus.Refused, early.Status);

        _time.Advance(TimeSpan.FromMinutes(5));
        await engine.RecordAuditAsync("acme", passed: true, "auditor", "re-audit ok", CancellationToken.None);
        var later = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, later.Status);
    }

    [Fact]
    public async Task Restore_AfterFailedAudit_RefusedUntilALaterAuditPassesEvenWhenPolicyDoesNotAskForAudits()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1, requireAudit: false));
        await engine.RecordAuditAsync("acme", passed: false, "auditor", "VLAN 20 on port 4", CancellationToken.None);
        Assert.True(engine.IsSuspended("acme"));

        var early = await engine.RequestRestoreAsync("acme", "alice", "fixed the port", CancellationToken.None);
        Assert.Equal(RestoreStatus.Refused, early.Status);
        Assert.Contains("later audit must pass", early.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(5));
        await engine.RecordAuditAsync("acme", passed: true, "auditor", "re-audit ok", CancellationToken.None);
        var later = await engine.RequestRestoreAsync("acme", "alice", "fixed the port", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, later.Status);
    }

    [Fact]
    public async Task FailedAudit_TripsClientWithAuditTrigger()
    {
        using var engine = NewEngine();
        await engine.RecordAuditAsync("globex", passed: false, "auditor", "segmentation test failed", CancellationToken.None);

        Assert.Equal(SuspensionTrigger.Audit, engine.Current.Suspensions["globex"].Trigger);
    }

    [Fact]
    public async Task SiteWideSwitch_SuspendsEveryClient_RestoreKeepsIndividualSuspensions()
    {
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1));
        await engine.TripAsync(Trip("acme"), CancellationToken.None);
        await (await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None)).Completion;
        Assert.True(engine.IsSuspended("globex"));

        await engine.RequestRestoreAsync(SuspensionNames.AllClients, "alice", "site ok", CancellationToken.None);

        Assert.False(engine.IsSuspended("globex"));
        Assert.True(engine.IsSuspended("acme"));
        Assert.Contains("up:globex", _log);
        Assert.DoesNotContain("up:acme", _log);
    }

    [Fact]
    public async Task CriticalFinding_TripsItsClient_MediumDoesNot()
    {
        using var engine = NewEngine();
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(TestPolicies.TwoClients()));

        await consumer.OnFindingsAsync(
            [
                Finding.Create(RuleIds.UnknownVlan, ["globex"], "vlan 99 seen", new Dictionary<string, object?>(), _time.GetUtcNow()),
                Finding.Create(RuleIds.CrossClientFlow, ["acme"], "acme talks to globex", new Dictionary<string, object?>(), _time.GetUtcNow()),
            ],
            CancellationToken.None);

        Assert.True(engine.IsSuspended("acme"));
        Assert.False(engine.IsSuspended("globex"));
        Assert.Equal(RuleIds.CrossClientFlow, engine.Current.Suspensions["acme"].Rule);
    }

    [Fact]
    public async Task CriticalFindingNamingTwoClients_EachSuspensionsReasonNamesNothingOfTheOther()
    {
        using var engine = NewEngine();
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(TestPolicies.TwoClients()));

        await consumer.OnFindingsAsync(
            [Finding.Create(RuleIds.CrossClientFlow, ["acme", "globex"], "Traffic between clients (acme, globex): tcp 10.1.0.5:49152 → 10.2.0.9:445 on VLAN 10", new Dictionary<string, object?>(), _time.GetUtcNow())],
            CancellationToken.None);

        // Each record is under its client's key alone (and in its auditor's export).
        Assert.Equal("Traffic between clients (acme, another client): tcp 10.1.0.5:49152 → [another client's address]:445 on VLAN 10", engine.Current.Suspensions["acme"].Reason);
        Assert.Equal("Traffic between clients (another client, globex): tcp [another client's address]:49152 → 10.2.0.9:445 on VLAN 10", engine.Current.Suspensions["globex"].Reason);
    }

    [Fact]
    public async Task CriticalFindingNamingTwoClients_OneGoneInAReloadMeanwhile_TheOtherStillTripped()
    {
        // The consumer read the policy before a reload that removed acme; the engine already has the new one.
        var before = TestPolicies.TwoClients();
        using var engine = NewEngine(before with { Clients = [.. before.Clients.Where(c => c.Id != "acme")] });
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(before));

        var thrown = await Record.ExceptionAsync(async () => await consumer.OnFindingsAsync(
            [Finding.Create(RuleIds.CrossClientFlow, ["acme", "globex"], "acme talks to globex", new Dictionary<string, object?>(), _time.GetUtcNow())],
            CancellationToken.None));

        Assert.True(engine.IsSuspended("globex"));
        Assert.IsType<ArgumentException>(thrown);
    }

    [Fact]
    public async Task UpdateOfACriticalFinding_WhileSuspended_TripsNothingMore()
    {
        using var engine = NewEngine();
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(TestPolicies.TwoClients()));
        var leak = Finding.Create(RuleIds.CrossClientFlow, ["acme"], "acme talks to globex", Seen(_time.GetUtcNow()), _time.GetUtcNow());
        await consumer.OnFindingsAsync([leak], CancellationToken.None);
        var first = engine.Current.Suspensions["acme"];

        _time.Advance(TimeSpan.FromSeconds(30));
        await consumer.OnFindingsAsync([leak with { Update = true, Evidence = Seen(_time.GetUtcNow()), ObservedAt = _time.GetUtcNow() }], CancellationToken.None);

        Assert.Equal(first.Id, engine.Current.Suspensions["acme"].Id);
    }

    [Fact]
    public async Task UpdateOfACriticalFinding_LeakGoesOnAfterTheRestore_TripsAgain()
    {
        using var engine = NewEngine();
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(TestPolicies.TwoClients()));
        var leak = Finding.Create(RuleIds.CrossClientFlow, ["acme"], "acme talks to globex", Seen(_time.GetUtcNow()), _time.GetUtcNow());
        await consumer.OnFindingsAsync([leak], CancellationToken.None);
        var leakSeen = _time.GetUtcNow().AddSeconds(5);
        _time.Advance(TimeSpan.FromMinutes(10));
        await engine.RequestRestoreAsync("acme", "alice", "cable moved back", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, (await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None)).Status);

        // Counts gathered before the restore and published after it do not undo the operators' decision.
        _time.Advance(TimeSpan.FromSeconds(1));
        await consumer.OnFindingsAsync([leak with { Update = true, Evidence = Seen(leakSeen), ObservedAt = _time.GetUtcNow() }], CancellationToken.None);
        Assert.False(engine.IsSuspended("acme"));

        // Frames of the same flow seen after the restore: the leak is still going, the client is cut again.
        _time.Advance(TimeSpan.FromSeconds(30));
        await consumer.OnFindingsAsync([leak with { Update = true, Evidence = Seen(_time.GetUtcNow()), ObservedAt = _time.GetUtcNow() }], CancellationToken.None);
        Assert.True(engine.IsSuspended("acme"));
        Assert.Equal(RuleIds.CrossClientFlow, engine.Current.Suspensions["acme"].Rule);
    }

    [Fact]
    public async Task UpdateOfVerificationLoss_SiteSuspended_TripsNothingMore()
    {
        var policy = TestPolicies.TwoClients(onLost: VerificationLostAction.Suspend);
        using var engine = NewEngine(policy);
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(policy));
        var silence = Finding.Create(RuleIds.CaptureDegraded, [], "capture silent", new Dictionary<string, object?>(), _time.GetUtcNow());
        await consumer.OnFindingsAsync([silence], CancellationToken.None);
        var first = engine.Current.Suspensions[SuspensionNames.AllClients];

        _time.Advance(TimeSpan.FromSeconds(30));
        await consumer.OnFindingsAsync([silence with { Update = true, Summary = "capture silent (frames resumed)", ObservedAt = _time.GetUtcNow() }], CancellationToken.None);

        Assert.Equal(first.Id, engine.Current.Suspensions[SuspensionNames.AllClients].Id);
    }

    private static Dictionary<string, object?> Seen(DateTimeOffset lastSeen) => new(StringComparer.Ordinal) { ["last_seen"] = lastSeen };

    [Theory]
    [InlineData(VerificationLostAction.Suspend, true)]
    [InlineData(VerificationLostAction.Alert, false)]
    public async Task VerificationLost_SuspendsSiteOnlyWhenPolicySaysSo(VerificationLostAction action, bool suspended)
    {
        var policy = TestPolicies.TwoClients(onLost: action);
        using var engine = NewEngine(policy);
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(policy));

        await consumer.OnFindingsAsync(
            [Finding.Create(RuleIds.CaptureDegraded, [], "capture silent", new Dictionary<string, object?>(), _time.GetUtcNow())],
            CancellationToken.None);

        Assert.Equal(suspended, engine.Current.AllSuspended);
        if (suspended)
        {
            Assert.Equal(SuspensionTrigger.VerificationLost, engine.Current.Suspensions[SuspensionNames.AllClients].Trigger);
        }
    }

    [Fact]
    public async Task VerificationLostForOneClientsVlan_SuspendsThatClientOnly()
    {
        var policy = TestPolicies.TwoClients(onLost: VerificationLostAction.Suspend);
        using var engine = NewEngine(policy);
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(policy));
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal) { ["interface"] = "eth1", ["reason"] = "arp-overflow", ["vlan"] = 10, ["shared"] = false };

        await consumer.OnFindingsAsync(
            [Finding.Create(RuleIds.CaptureDegraded, ["acme"], "Capture on eth1 has no room for more ARP bindings in the share of VLAN 10 (acme)", evidence, _time.GetUtcNow())],
            CancellationToken.None);

        Assert.True(engine.IsSuspended("acme"));
        Assert.Equal(SuspensionTrigger.VerificationLost, engine.Current.Suspensions["acme"].Trigger);
        Assert.False(engine.IsSuspended("globex"));
        Assert.False(engine.Current.AllSuspended);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AuditFailedFinding_SuspendsWithAuditTriggerOnlyWhenPolicySuspendsOnFailure(bool suspendOnFailure)
    {
        var policy = TestPolicies.TwoClients() with { Audits = new AuditSettings { SuspendOnFailure = suspendOnFailure } };
        using var engine = NewEngine(policy);
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(policy));

        await consumer.OnFindingsAsync(
            [Finding.Create(RuleIds.AuditFailed, ["acme"], "audit AUD-1 failed for acme", new Dictionary<string, object?>(), _time.GetUtcNow())],
            CancellationToken.None);

        Assert.Equal(suspendOnFailure, engine.IsSuspended("acme"));
        Assert.False(engine.IsSuspended("globex"));
        if (suspendOnFailure)
        {
            Assert.Equal(SuspensionTrigger.Audit, engine.Current.Suspensions["acme"].Trigger);
            Assert.Equal(RuleIds.AuditFailed, engine.Current.Suspensions["acme"].Rule);
        }
    }

    [Fact]
    public async Task Trip_PortsNotReadBack_SwitchPortStageFailedAndRecorded()
    {
        var switchPorts = new PortTableShutter { ConfirmsReadBack = false };
        using var engine = NewEngine(ports: switchPorts);

        var final = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        var stage = Assert.Single(final.Stages, s => s.Stage == SuspensionStage.SwitchPorts);
        Assert.False(stage.Succeeded);
        Assert.Contains("acme: ports not read back down", stage.Detail, StringComparison.Ordinal);
        Assert.False(final.Ports!.Verified);
        Assert.False(new FileSuspensionStateStore(StatePath).Load().State!.Suspensions["acme"].Ports!.Verified);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Trip_PortsReadBackDown_StageSucceededWithPortsVerified()
    {
        var switchPorts = new PortTableShutter();
        using var engine = NewEngine(ports: switchPorts);

        var final = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        Assert.True(Assert.Single(final.Stages, s => s.Stage == SuspensionStage.SwitchPorts).Succeeded);
        Assert.True(final.Ports!.Verified);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    [Fact]
    public async Task Restore_PortsThrow_RestoreInForceObserversToldWithFailure()
    {
        var switchPorts = new PortTableShutter();
        var observer = new CountingObserver();
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1), ports: switchPorts, observer: observer);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        switchPorts.BringUpFailure = new InvalidOperationException("agent answered garbage");

        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.False(engine.IsSuspended("acme"));
        Assert.False(outcome.Record!.Ports!.Verified);
        Assert.Equal(["acme: agent answered garbage"], outcome.Record.Ports.Failures);
        var restored = Assert.Single(observer.Restored);
        Assert.False(restored.Ports!.Verified);
        Assert.Equal(["acme"], observer.RestoreRequests);
    }

    [Fact]
    public async Task Restore_CallerGivesUpDuringBringUp_RestoreStillCompletesAndIsReported()
    {
        var switchPorts = new PortTableShutter { HoldBringUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var observer = new CountingObserver();
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1), ports: switchPorts, observer: observer);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        using var caller = new CancellationTokenSource();

        var restore = engine.RequestRestoreAsync("acme", "alice", "fixed", caller.Token);
        await switchPorts.BringUpStarted.Task;
        await caller.CancelAsync();
        switchPorts.HoldBringUp.SetResult();
        var outcome = await restore;

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.True(outcome.Record!.Ports!.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Single(observer.Restored);
    }

    [Fact]
    public async Task Restore_TrippedAgainWhileBringingPortsUp_PortsEndDownAndClientSuspended()
    {
        var switchPorts = new PortTableShutter { HoldBringUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var engine = NewEngine(TestPolicies.TwoClients(approvers: 1), ports: switchPorts);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        var restore = engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        await switchPorts.BringUpStarted.Task;
        var again = await engine.TripAsync(Trip("acme", SuspensionTrigger.Finding), CancellationToken.None);
        switchPorts.HoldBringUp.SetResult();
        await restore;
        var final = await again.Completion;

        Assert.True(engine.IsSuspended("acme"));
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.True(final.Ports!.Verified);
    }

    [Fact]
    public async Task Restore_TrippedAgainBeforePortsReached_PortsStayDown()
    {
        var switchPorts = new PortTableShutter();
        using var engine = NewEngine(ports: switchPorts);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None);
        await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);

        // acme's own suspension lifted while the site-wide one still holds it: its ports stay down.
        var outcome = await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.True(engine.IsSuspended("acme"));
        Assert.Null(outcome.Record!.Ports);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    [Fact]
    public async Task Restore_RequestAndApproval_ObserversHearEachThenTheRestore()
    {
        var observer = new CountingObserver();
        using var engine = NewEngine(observer: observer);
        var trip = await engine.TripAsync(Trip("acme"), CancellationToken.None);
        var enforced = await trip.Completion;

        await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        await engine.ApproveRestoreAsync("acme", "alice", CancellationToken.None);
        await engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);

        Assert.Equal(6, Assert.Single(observer.Enforced).Stages.Count);
        Assert.Equal(enforced.Id, observer.Enforced[0].Id);
        Assert.Equal(["acme"], observer.RestoreRequests);
        Assert.Equal(["bob"], observer.Approvals);
        Assert.Equal(["alice", "bob"], Assert.Single(observer.Restored).Approvers);
    }

    [Fact]
    public async Task ClientlessFinding_ActionSuspend_SuspendsNobody()
    {
        var policy = TestPolicies.TwoClients() with
        {
            Rules = RuleSet.Default with
            {
                BySeverity = new Dictionary<Severity, FindingAction>(RuleSet.Default.BySeverity) { [Severity.High] = FindingAction.Suspend },
            },
        };
        using var engine = NewEngine(policy);
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(policy));

        await consumer.OnFindingsAsync(
            [
                Finding.Create(RuleIds.UnknownSource, [], "10.9.9.9 is in no client segment", new Dictionary<string, object?>(), _time.GetUtcNow()),
                Finding.Create(RuleIds.CrossClientRequest, ["initech"], "a client the policy no longer has", new Dictionary<string, object?>(), _time.GetUtcNow()),
            ],
            CancellationToken.None);

        Assert.Empty(engine.Current.Suspensions);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task LogIntegrityFailure_SuspendsTheSiteUnlessOverriddenToAlert(bool alertOnly, bool suspended)
    {
        var policy = TestPolicies.TwoClients();
        if (alertOnly)
        {
            policy = policy with
            {
                Rules = RuleSet.Default with
                {
                    ByRule = new Dictionary<string, FindingAction>(StringComparer.Ordinal) { [RuleIds.LogIntegrityFailure] = FindingAction.Alert },
                },
            };
        }

        using var engine = NewEngine(policy);
        var consumer = new SuspensionFindingConsumer(engine, new StaticPolicyProvider(policy));

        await consumer.OnFindingsAsync(
            [Finding.Create(RuleIds.LogIntegrityFailure, [], "the evidence chain fails verification at record 12", new Dictionary<string, object?>(), _time.GetUtcNow())],
            CancellationToken.None);

        Assert.Equal(suspended, engine.Current.AllSuspended);
    }
}
