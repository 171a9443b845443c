using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>
/// A restore's bring-up that did not read the ports back up is owed in the state file: a controller started after
/// one that stopped (or died) while it was owed brings up exactly the ports still owed, and the debt goes once they
/// read up, the client is suspended or restored again, or the policy drops the client or leaves its ports alone.
/// </summary>
public sealed class OwedBringUpTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private string StatePath => _dir.File("state/suspension.state");

    private SuspensionEngine NewEngine(PortTableShutter ports, PortEvents events, IPolicyProvider policy) => new(
        new FileSuspensionStateStore(StatePath),
        policy,
        [],
        [ports],
        [],
        [events],
        _time);

    private SuspensionEngine NewEngine(PortTableShutter ports, PortEvents events, SitePolicy? policy = null) =>
        NewEngine(ports, events, new StaticPolicyProvider(policy ?? TestPolicies.TwoClients(approvers: 1)));

    private static TripRequest Trip(string scope) => new()
    {
        Scope = scope,
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "incident 42",
    };

    private IReadOnlyDictionary<string, OwedBringUp> OwedOnDisk() => new FileSuspensionStateStore(StatePath).Load().State!.OwedBringUps;

    /// <summary>Acme with a port on each of two switches.</summary>
    private static SitePolicy TwoSwitches()
    {
        var policy = TestPolicies.TwoClients(approvers: 1);
        var acme = policy.Clients[0];
        return policy with
        {
            Clients =
            [
                acme with { Segments = [acme.Segments[0] with { Ports = [new PortAssignment { Switch = "sw1", Ports = ["Gi1/0/1"] }, new PortAssignment { Switch = "sw2", Ports = ["Gi1/0/7"] }] }] },
                policy.Clients[1],
            ],
        };
    }

    [Fact]
    public async Task Restart_BringUpOwedWhenTheControllerStopped_ResumedAtStart_OnlyThePortNotReadUpBroughtUp_OnRecordUnderTheRestore()
    {
        var switchPorts = new PortTableShutter();
        string suspensionId;
        using (var engine = NewEngine(switchPorts, new PortEvents(), TwoSwitches()))
        {
            suspensionId = (await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion).Id;

            // sw2 does not answer the restore's bring-up; sw1 does.
            switchPorts.Broken.Add("sw2:Gi1/0/7");
            var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
            Assert.Equal(["sw2:Gi1/0/7: no response"], outcome.Record!.Ports!.Failures);
            Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);

            var owed = Assert.Single(OwedOnDisk());
            Assert.Equal("acme", owed.Key);
            Assert.Equal(suspensionId, owed.Value.Restore.Suspension.Id);
            Assert.Equal(["sw2:Gi1/0/7"], owed.Value.Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));
        }

        // The controller stopped before the first retry. Meanwhile an operator shuts sw1's port for a reason of
        // their own, and sw2 answers again, though not at once.
        switchPorts.Up["sw1:Gi1/0/1"] = false;
        switchPorts.Broken.Clear();
        Interlocked.Exchange(ref switchPorts.UnreachableBringUps, 1);
        var events = new PortEvents();
        using var restarted = NewEngine(switchPorts, events, TwoSwitches());

        Assert.Empty(await restarted.ReassertAsync(CancellationToken.None));

        // Tried at once at the start, then on the schedule.
        var failed = await events.NextBringUpFailureAsync();
        Assert.Equal(suspensionId, failed.Restore.Suspension.Id);
        Assert.Equal(["sw2:Gi1/0/7: failed: no response"], failed.Attempt.Ports.Failures);
        Assert.Equal(TimeSpan.FromSeconds(1), failed.RetryIn);
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var (restore, bringUp) = await events.NextBroughtUpAsync();

        Assert.Equal(suspensionId, restore.Suspension.Id);
        Assert.Equal("acme", restore.Suspension.Scope);
        Assert.Equal("alice", restore.RequestedBy);
        Assert.Equal("fixed", restore.Reason);
        Assert.Equal("acme", bringUp.Client);
        Assert.True(bringUp.Ports.Verified);
        Assert.True(switchPorts.Up["sw2:Gi1/0/7"]);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]); // not the controller's to bring up: the restore read it up
        Assert.Equal(["acme:sw2:Gi1/0/7", "acme:sw2:Gi1/0/7"], switchPorts.Releases);
        Assert.Empty(OwedOnDisk());

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, switchPorts.ReleaseCalls);
        Assert.Equal(1, events.BroughtUpCount);
    }

    [Fact]
    public async Task Restart_ControllerDiedDuringTheRestoresOwnBringUp_EveryPortTheRestoreLiftedIsOwed_BroughtUpAtStart()
    {
        var switchPorts = new PortTableShutter();
        using var engine = NewEngine(switchPorts, new PortEvents());
        var suspensionId = (await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion).Id;

        // The lift is durable before the switch is asked: what it owes is in the state file with it.
        switchPorts.HoldBringUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        await switchPorts.BringUpStarted.Task.WaitAsync(Patience);
        var owed = Assert.Single(OwedOnDisk());
        Assert.Equal(suspensionId, owed.Value.Restore.Suspension.Id);
        Assert.Equal(["sw1:Gi1/0/1"], owed.Value.Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));

        // What the restarted controller reads is that file (the first one's bring-up never answers).
        switchPorts.HoldBringUp = null;
        var events = new PortEvents();
        using var restarted = NewEngine(switchPorts, events);
        await restarted.ReassertAsync(CancellationToken.None);
        var (restore, bringUp) = await events.NextBroughtUpAsync();

        Assert.Equal(suspensionId, restore.Suspension.Id);
        Assert.True(bringUp.Ports.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(["acme:sw1:Gi1/0/1"], switchPorts.Releases);
        Assert.Empty(OwedOnDisk());
    }

    [Fact]
    public async Task Owed_ReadBackUpByARetry_DebtGone_RestartBringsNothingUp()
    {
        var switchPorts = new PortTableShutter();
        using (var engine = NewEngine(switchPorts, new PortEvents()))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);
            await _time.FireNextTimerAsync(Patience);
            await WaitUntilAsync(() => OwedOnDisk().Count == 0 && engine.Current.OwedBringUps.Count == 0, "the retry that read the port up left the bring-up owed");
        }

        await AssertRestartBringsNothingUpAsync(switchPorts, releasesBefore: 1);
    }

    [Fact]
    public async Task Owed_ClientSuspendedAgain_DebtGoneWithTheTrip_RestartLeavesThePortShut()
    {
        var switchPorts = new PortTableShutter();
        using (var engine = NewEngine(switchPorts, new PortEvents()))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);
            await engine.TripAsync(Trip("acme"), CancellationToken.None);

            Assert.Empty(engine.Current.OwedBringUps);
            Assert.Empty(OwedOnDisk());
        }

        await AssertRestartBringsNothingUpAsync(switchPorts, releasesBefore: 0);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    [Fact]
    public async Task Owed_SiteWideTrip_EveryDebtGoneWithTheTrip()
    {
        var switchPorts = new PortTableShutter();
        using var engine = NewEngine(switchPorts, new PortEvents());
        await RestoredWithThePortNotUpAsync(engine, switchPorts);

        await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None);

        Assert.Empty(engine.Current.OwedBringUps);
        Assert.Empty(OwedOnDisk());
    }

    [Fact]
    public async Task Owed_ClientRestoredAgainWhileTheSwitchStillHangs_OwedUnderTheLaterRestore_RestartRecordsItThere()
    {
        var switchPorts = new PortTableShutter();
        string later;
        using (var engine = NewEngine(switchPorts, new PortEvents()))
        {
            var earlier = await RestoredWithThePortNotUpAsync(engine, switchPorts);
            later = (await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion).Id;
            Interlocked.Exchange(ref switchPorts.UnreachableBringUps, 1);
            Assert.False((await engine.RequestRestoreAsync("acme", "bob", "fixed again", CancellationToken.None)).Record!.Ports!.Verified);

            var owed = Assert.Single(OwedOnDisk()).Value;
            Assert.NotEqual(earlier.Record!.Suspension.Id, later);
            Assert.Equal(later, owed.Restore.Suspension.Id);
            Assert.Equal("bob", owed.Restore.RequestedBy);
        }

        var events = new PortEvents();
        using var restarted = NewEngine(switchPorts, events);
        await restarted.ReassertAsync(CancellationToken.None);
        var (restore, _) = await events.NextBroughtUpAsync();

        Assert.Equal(later, restore.Suspension.Id);
        Assert.Equal("fixed again", restore.Reason);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, events.BroughtUpCount);
    }

    [Fact]
    public async Task Owed_ClientRestoredAgainWithThePortsUp_DebtGone()
    {
        var switchPorts = new PortTableShutter();
        using (var engine = NewEngine(switchPorts, new PortEvents()))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
            Assert.True((await engine.RequestRestoreAsync("acme", "bob", "fixed again", CancellationToken.None)).Record!.Ports!.Verified);

            Assert.Empty(engine.Current.OwedBringUps);
            Assert.Empty(OwedOnDisk());
        }

        await AssertRestartBringsNothingUpAsync(switchPorts, releasesBefore: 0);
    }

    [Fact]
    public async Task Owed_ReloadDropsTheClient_DebtGone_PutBackLaterItIsOwedNothing()
    {
        var switchPorts = new PortTableShutter();
        var full = TestPolicies.TwoClients(approvers: 1);
        var policy = new StaticPolicyProvider(full);
        using (var engine = NewEngine(switchPorts, new PortEvents(), policy))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);

            policy.Set(full with { Clients = [full.Clients[1]] });

            await WaitUntilAsync(() => OwedOnDisk().Count == 0 && engine.Current.OwedBringUps.Count == 0, "the bring-up of a client the policy dropped is still owed");
        }

        await AssertRestartBringsNothingUpAsync(switchPorts, releasesBefore: 0);
    }

    [Fact]
    public async Task Owed_ReloadTurnsShutPortsOff_DebtGone_TurnedBackOnItIsOwedNothing()
    {
        var switchPorts = new PortTableShutter();
        var full = TestPolicies.TwoClients(approvers: 1);
        var policy = new StaticPolicyProvider(full);
        using (var engine = NewEngine(switchPorts, new PortEvents(), policy))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);

            var acme = full.Clients[0];
            policy.Set(full with { Clients = [acme with { Kill = acme.Kill with { ShutPorts = false } }, full.Clients[1]] });

            await WaitUntilAsync(() => OwedOnDisk().Count == 0 && engine.Current.OwedBringUps.Count == 0, "the bring-up of a client whose ports the policy leaves alone is still owed");
        }

        await AssertRestartBringsNothingUpAsync(switchPorts, releasesBefore: 0);
    }

    [Fact]
    public async Task Owed_PolicyEditedWhileStopped_PortGivenToAnotherClient_NotBroughtUpAtStart_DebtGone()
    {
        var switchPorts = new PortTableShutter();
        using (var engine = NewEngine(switchPorts, new PortEvents()))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);
        }

        // Acme's port is globex's now; acme has another.
        var full = TestPolicies.TwoClients(approvers: 1);
        var (acme, globex) = (full.Clients[0], full.Clients[1]);
        var edited = full with
        {
            Clients =
            [
                acme with { Segments = [acme.Segments[0] with { Ports = [new PortAssignment { Switch = "sw1", Ports = ["Gi1/0/9"] }] }] },
                globex with { Segments = [globex.Segments[0] with { Ports = [new PortAssignment { Switch = "sw1", Ports = ["Gi1/0/1", "Gi1/0/2"] }] }] },
            ],
        };
        var events = new PortEvents();
        using var restarted = NewEngine(switchPorts, events, edited);
        await restarted.ReassertAsync(CancellationToken.None);

        Assert.Empty(restarted.Current.OwedBringUps);
        Assert.Empty(OwedOnDisk());
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, switchPorts.ReleaseCalls);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    [Fact]
    public async Task Owed_ReadBackUpByARetry_SaveFails_ReportedOncePerFailedSave_SavedAgainOnTheSchedule_RestartBringsNothingUp()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using (var engine = new SuspensionEngine(store, new StaticPolicyProvider(TestPolicies.TwoClients(approvers: 1)), [], [switchPorts], [], [events], _time))
        {
            await RestoredWithThePortNotUpAsync(engine, switchPorts);

            // The disk fills; the retry reads the port up, and the debt goes in force but not in the file.
            store.Failing = true;
            Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
            var (clients, reason) = await events.NextOwedNotSavedAsync();
            await events.NextBroughtUpAsync();
            Assert.Equal(["acme"], clients);
            Assert.Equal("No space left on device", reason);
            Assert.Empty(engine.Current.OwedBringUps);
            Assert.Equal(["acme"], OwedOnDisk().Keys);
            Assert.Equal(1, events.OwedNotSavedCount);

            // Saved again 1 s later (failing again: reported again, once), then 2 s later, when the disk has room.
            Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
            Assert.Equal(["acme"], (await events.NextOwedNotSavedAsync()).Clients);
            store.Failing = false;
            Assert.Equal(TimeSpan.FromSeconds(2), await _time.FireNextTimerAsync(Patience));
            await WaitUntilAsync(() => OwedOnDisk().Count == 0, "the dropped debt was not saved again once the disk had room");
            await WaitUntilAsync(() => _time.PendingTimers == 0, "the state is still being saved again after a save that succeeded");
            _time.Advance(TimeSpan.FromHours(1));
            Assert.Equal(2, events.OwedNotSavedCount);
        }

        await AssertRestartBringsNothingUpAsync(switchPorts, releasesBefore: 1);
    }

    [Fact]
    public async Task Owed_NarrowedByARetry_SaveFails_Reported_SavedByTheNextTryThoughNothingChanged_RestartBringsUpOnlyThePortStillOwed()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        var policy = new StaticPolicyProvider(TwoSwitches());
        using (var engine = new SuspensionEngine(store, policy, [], [switchPorts], [], [events], _time))
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
            Interlocked.Exchange(ref switchPorts.UnreachableBringUps, 1);
            Assert.False((await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None)).Record!.Ports!.Verified);
            Assert.Equal(2, OwedOnDisk()["acme"].Ports.Sum(p => p.Ports.Count));

            // sw1 answers the first try, sw2 does not: the debt narrows to sw2's port, and the save of that fails.
            switchPorts.Broken.Add("sw2:Gi1/0/7");
            store.Failing = true;
            Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
            Assert.Equal(["acme"], (await events.NextOwedNotSavedAsync()).Clients);
            Assert.Equal(TimeSpan.FromSeconds(2), (await events.NextBringUpFailureAsync()).RetryIn);
            Assert.Equal(["sw2:Gi1/0/7"], engine.Current.OwedBringUps["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));
            Assert.Equal(["sw1:Gi1/0/1", "sw2:Gi1/0/7"], OwedOnDisk()["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));

            // The state saved again 1 s later fails too; the disk has room by the next try, which finds the debt as
            // it was (sw2 still does not answer) and saves it all the same. The flusher sets its wait for that save
            // after it reported the failure, and the try may have set its own (2 s) by then: both waits are set first.
            await WaitUntilAsync(() => _time.PendingTimers == 2, "the failed save is not waiting to be tried again beside the port's next try");
            Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
            Assert.Equal(["acme"], (await events.NextOwedNotSavedAsync()).Clients);
            store.Failing = false;
            Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
            Assert.Equal(TimeSpan.FromSeconds(4), (await events.NextBringUpFailureAsync()).RetryIn);
            Assert.Equal(["sw2:Gi1/0/7"], OwedOnDisk()["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));
            Assert.Equal(2, events.OwedNotSavedCount);
        }

        // Started again on that file once sw2 answers: only sw2's port is brought up.
        switchPorts.Broken.Clear();
        var restartEvents = new PortEvents();
        using var restarted = NewEngine(switchPorts, restartEvents, TwoSwitches());
        await restarted.ReassertAsync(CancellationToken.None);
        await restartEvents.NextBroughtUpAsync();
        Assert.Equal(["acme:sw1:Gi1/0/1,sw2:Gi1/0/7", "acme:sw2:Gi1/0/7", "acme:sw2:Gi1/0/7"], switchPorts.Releases);
        Assert.Empty(OwedOnDisk());
    }

    [Fact]
    public async Task Owed_FourDebtsDroppedInOneRound_SavedByTheOneSaveWritingAndAtMostOneAfterIt_NotOneSaveEach()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        var store = new GatedSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = new SuspensionEngine(store, new StaticPolicyProvider(FourClients()), [], [switchPorts], [], [events], _time);
        await RestoredSiteWideWithNoPortUpAsync(engine, switchPorts);
        var before = store.Saved.Count;

        // The switch answers every client's first try; the first save of the debts they drop is slow to reach the disk,
        // and the other debts change in force meanwhile, none waiting for it.
        store.HoldNext();
        await _time.FireNextTimerAsync(Patience);
        await store.Entered.Task.WaitAsync(Patience);
        await WaitUntilAsync(() => engine.Current.OwedBringUps.Count == 0, "the debts of the other clients waited for the first one's save before they changed in force");
        store.Release();
        for (var i = 0; i < 4; i++)
        {
            await events.NextBroughtUpAsync();
        }

        Assert.Empty(OwedOnDisk());
        Assert.InRange(store.Saved.Count - before, 1, 2);
    }

    [Fact]
    public async Task Trip_WhileTheDebtsOfABurstWaitToBeSaved_WaitsForAtMostTheOneSaveWriting_ItsOwnSaveCarriesTheRest()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        var store = new GatedSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = new SuspensionEngine(store, new StaticPolicyProvider(FourClients()), [], [switchPorts], [], [events], _time);
        await RestoredSiteWideWithNoPortUpAsync(engine, switchPorts);

        store.HoldNext();
        await _time.FireNextTimerAsync(Patience);
        await store.Entered.Task.WaitAsync(Patience);
        await WaitUntilAsync(() => engine.Current.OwedBringUps.Count == 0, "the debts of the other clients waited for the first one's save before they changed in force");
        var saved = store.Saved.Count;

        // A trip now: the save already writing finishes first (the file's slots are written in turn), then the trip's.
        // The trip reads the time of its record under the engine lock, just before its save: released only then, the
        // save writing cannot be followed by the flusher's next (it waits for that lock) before the trip's.
        var (trip, tripUnderTheLock) = _time.RunWatchingNow(() => engine.TripAsync(Trip("acme"), CancellationToken.None));
        await tripUnderTheLock.WaitAsync(Patience);
        store.Release();
        var result = await trip.WaitAsync(Patience);
        for (var i = 0; i < 4; i++)
        {
            await events.NextBroughtUpAsync();
        }

        await result.Completion.WaitAsync(Patience);

        // One debt save (the one writing), then the trip's, which has every debt dropped; no debt save after it.
        var after = store.Saved.Skip(saved).ToArray();
        Assert.Single(after.TakeWhile(s => !s.IsSuspended("acme")));
        Assert.Empty(after[1].OwedBringUps);
        Assert.All(after.Skip(1), s => Assert.True(s.IsSuspended("acme")));
        Assert.Empty(OwedOnDisk());
    }

    [Fact]
    public async Task Stop_ANarrowedDebtNotSavedYet_TheCleanStopSavesIt_RestartBringsUpOnlyThePortStillOwed()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using (var engine = new SuspensionEngine(store, new StaticPolicyProvider(TwoSwitches()), [], [switchPorts], [], [events], _time))
        {
            await NarrowedWhileTheDiskIsFullAsync(engine, switchPorts, events, store);

            // The disk has room again before the next save is due; the controller is stopped first.
            store.Failing = false;
        }

        Assert.Equal(["sw2:Gi1/0/7"], OwedOnDisk()["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));
        Assert.Equal(1, events.OwedNotSavedCount);

        switchPorts.Broken.Clear();
        var restartEvents = new PortEvents();
        using var restarted = NewEngine(switchPorts, restartEvents, TwoSwitches());
        await restarted.ReassertAsync(CancellationToken.None);
        await restartEvents.NextBroughtUpAsync();
        Assert.Equal(["acme:sw1:Gi1/0/1,sw2:Gi1/0/7", "acme:sw2:Gi1/0/7"], switchPorts.Releases);
        Assert.Empty(OwedOnDisk());
    }

    [Fact]
    public async Task Stop_ANarrowedDebtNotSavedYet_TheSaveAtStopFails_Reported_RestartBringsUpExactlyThePortsTheFileStillNames()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using (var engine = new SuspensionEngine(store, new StaticPolicyProvider(TwoSwitches()), [], [switchPorts], [], [events], _time))
        {
            await NarrowedWhileTheDiskIsFullAsync(engine, switchPorts, events, store);
        }

        // The stop tried once more, said so, and the file still names both ports.
        Assert.Equal(2, events.OwedNotSavedCount);
        Assert.Equal(["sw1:Gi1/0/1", "sw2:Gi1/0/7"], OwedOnDisk()["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));

        // Started again on that file (as after a crash before any save): both ports are brought up once more, no other.
        switchPorts.Broken.Clear();
        var restartEvents = new PortEvents();
        using var restarted = NewEngine(switchPorts, restartEvents, TwoSwitches());
        await restarted.ReassertAsync(CancellationToken.None);
        await restartEvents.NextBroughtUpAsync();
        Assert.Equal(["acme:sw1:Gi1/0/1,sw2:Gi1/0/7", "acme:sw1:Gi1/0/1,sw2:Gi1/0/7"], switchPorts.Releases);
        Assert.Empty(OwedOnDisk());
    }

    /// <summary>Acme restored with neither of its two switches answering; then sw1 answers the first try and the save of the narrowed debt fails.</summary>
    private async Task NarrowedWhileTheDiskIsFullAsync(SuspensionEngine engine, PortTableShutter switchPorts, PortEvents events, FailingSaveStore store)
    {
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Interlocked.Exchange(ref switchPorts.UnreachableBringUps, 1);
        Assert.False((await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None)).Record!.Ports!.Verified);
        switchPorts.Broken.Add("sw2:Gi1/0/7");
        store.Failing = true;
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        Assert.Equal(["acme"], (await events.NextOwedNotSavedAsync()).Clients);
        await events.NextBringUpFailureAsync();
        Assert.Equal(["sw2:Gi1/0/7"], engine.Current.OwedBringUps["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));
        Assert.Equal(["sw1:Gi1/0/1", "sw2:Gi1/0/7"], OwedOnDisk()["acme"].Ports.SelectMany(p => p.Ports.Select(port => $"{p.Switch}:{port}")));
    }

    /// <summary>Four clients, each with its own port on sw1.</summary>
    private static SitePolicy FourClients()
    {
        var policy = TestPolicies.TwoClients(approvers: 1);
        var acme = policy.Clients[0];
        ClientDefinition Another(string id, string subnet, string port) => acme with
        {
            Id = id,
            Name = id,
            Segments = [acme.Segments[0] with { Subnets = [IPNetwork.Parse(subnet)], Ports = [new PortAssignment { Switch = "sw1", Ports = [port] }] }],
        };

        return policy with { Clients = [.. policy.Clients, Another("initech", "10.3.0.0/24", "Gi1/0/3"), Another("umbrella", "10.4.0.0/24", "Gi1/0/4")] };
    }

    /// <summary>The site tripped (every port shut), then restored while the switch leaves every bring-up unanswered: each client is owed its port, and each has a try due in 1 s.</summary>
    private async Task RestoredSiteWideWithNoPortUpAsync(SuspensionEngine engine, PortTableShutter switchPorts)
    {
        Assert.True((await (await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None)).Completion).Ports!.Verified);
        Interlocked.Exchange(ref switchPorts.UnreachableBringUps, 4);
        Assert.False((await engine.RequestRestoreAsync(SuspensionNames.AllClients, "alice", "fixed", CancellationToken.None)).Record!.Ports!.Verified);
        Assert.Equal(4, OwedOnDisk().Count);
        await WaitUntilAsync(() => _time.PendingTimers == 4, "not every client's bring-up try was due");
    }

    [Fact]
    public async Task StateFileOfTheVersionBeforeOwedBringUps_Loads_SuspensionInForce_NothingOwed_RestoreBringsThePortUp()
    {
        // As the controller wrote it before bring-ups were owed: no owed_bring_ups.
        const string json = """{"suspensions":{"acme":{"id":"0f3c","scope":"acme","trigger":"Operator","actor":"alice","reason":"incident 42","rule":null,"failed_audit_at":null,"tripped_at":"2026-10-30T08:00:00+00:00","stages":[{"stage":"Persist","duration":"00:00:00.0010000","succeeded":true,"detail":null}],"ports":{"verified":true,"failures":[]},"reassertions":[],"releases":[]}},"last_passing_audit":{},"last_lifted":{"globex":"2026-10-29T08:00:00+00:00"},"pending_restores":{}}""";
        WriteSlottedState(json);
        var switchPorts = new PortTableShutter();
        switchPorts.Up["sw1:Gi1/0/1"] = false;
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);

        Assert.True(engine.IsSuspended("acme"));
        Assert.False(engine.Current.AllSuspended);
        Assert.Equal("0f3c", engine.Current.Suspensions["acme"].Id);
        Assert.Empty(engine.Current.OwedBringUps);

        Assert.True((await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None)).Record!.Ports!.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Empty(OwedOnDisk());
    }

    /// <summary>Writes a slot file (two 64 KiB slots, the state in the first) as the store lays it out.</summary>
    private void WriteSlottedState(string json)
    {
        const int slotBytes = 64 * 1024;
        const int headerBytes = 60;
        var payload = Encoding.UTF8.GetBytes(json);
        var file = new byte[2 * slotBytes];
        var slot = file.AsSpan(0, slotBytes);
        "SEGCTLST"u8.CopyTo(slot);
        BinaryPrimitives.WriteInt32LittleEndian(slot[8..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(slot[12..], slotBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[16..], 2);
        BinaryPrimitives.WriteInt32LittleEndian(slot[24..], payload.Length);
        payload.CopyTo(slot[headerBytes..]);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(slot[..28]);
        hash.AppendData(payload);
        hash.GetHashAndReset(slot.Slice(28, 32));
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        File.WriteAllBytes(StatePath, file);
    }

    /// <summary>Acme tripped (its port shut), then restored while the switch leaves the bring-up unanswered: the bring-up is owed.</summary>
    private async Task<RestoreOutcome> RestoredWithThePortNotUpAsync(SuspensionEngine engine, PortTableShutter switchPorts)
    {
        Assert.True((await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion).Ports!.Verified);
        Interlocked.Exchange(ref switchPorts.UnreachableBringUps, 1);
        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        Assert.False(outcome.Record!.Ports!.Verified);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(["acme"], OwedOnDisk().Keys);
        return outcome;
    }

    /// <summary>A controller started on the state file (under the full policy) brings no port up, now or later.</summary>
    private async Task AssertRestartBringsNothingUpAsync(PortTableShutter switchPorts, int releasesBefore)
    {
        var events = new PortEvents();
        using var restarted = NewEngine(switchPorts, events);
        await restarted.ReassertAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Empty(restarted.Current.OwedBringUps);
        Assert.Equal(releasesBefore, switchPorts.ReleaseCalls);
        Assert.Equal(0, events.BroughtUpCount);
        Assert.Equal(0, events.BringUpFailedCount);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string message)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(10);
        }
    }
}
