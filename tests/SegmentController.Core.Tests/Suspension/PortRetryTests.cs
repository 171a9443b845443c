using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>
/// Switch ports of a suspension that did not read back down are tried again while it is in force, on the
/// engine's clock (here one that moves only when told), until they do, the suspension is lifted or the
/// engine is disposed; and ports a restore's bring-up did not read back up are tried again until they read
/// back up, the client is suspended or restored again, or the engine is disposed.
/// </summary>
public sealed class PortRetryTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private string StatePath => _dir.File("state/suspension.state");

    private SuspensionEngine NewEngine(PortTableShutter ports, PortEvents events, SitePolicy? policy = null) => new(
        new FileSuspensionStateStore(StatePath),
        new StaticPolicyProvider(policy ?? TestPolicies.TwoClients(approvers: 1)),
        [],
        [ports],
        [],
        [events],
        _time);

    private static TripRequest Trip(string scope) => new()
    {
        Scope = scope,
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "incident 42",
    };

    private SuspensionRecord OnDisk(string scope) => new FileSuspensionStateStore(StatePath).Load().State!.Suspensions[scope];

    [Fact]
    public async Task Trip_SwitchUnreachableAtTheTripAndTheFirstRetry_SecondRetryShutsThePort_RecordedAsARetry()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 2 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);

        var enforced = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        Assert.False(Assert.Single(enforced.Stages, s => s.Stage == SuspensionStage.SwitchPorts).Succeeded);
        Assert.False(enforced.Ports!.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);

        // One second later the port is tried again; the switch still does not answer.
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var failed = await events.NextRetryFailureAsync();
        Assert.Equal(PortReassertionCause.Retry, failed.Attempt.Cause);
        Assert.Equal(["sw1:Gi1/0/1"], failed.Attempt.Ports);
        Assert.Equal(["sw1:Gi1/0/1: failed: no response"], failed.Attempt.Failures);
        Assert.Equal(TimeSpan.FromSeconds(2), failed.RetryIn);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);

        // Two seconds after that it answers: the port is shut and read back down.
        Assert.Equal(TimeSpan.FromSeconds(2), await _time.FireNextTimerAsync(Patience));
        var (record, reassertion) = await events.NextReassertionAsync();

        Assert.Equal(enforced.Id, record.Id);
        Assert.Equal(PortReassertionCause.Retry, reassertion.Cause);
        Assert.True(reassertion.Verified);
        Assert.Equal(["acme"], reassertion.Clients);
        Assert.Equal(["sw1:Gi1/0/1"], reassertion.Ports);
        Assert.Empty(reassertion.Failures);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.False(switchPorts.Up.ContainsKey("sw1:Gi1/0/2"));
        var onDisk = OnDisk("acme");
        var recorded = Assert.Single(onDisk.Reassertions);
        Assert.Equal(PortReassertionCause.Retry, recorded.Cause);
        Assert.True(recorded.Verified);
        Assert.False(onDisk.Ports!.Verified); // the trip's own read-back stays on record as it was
        Assert.Contains("\"Retry\"", await File.ReadAllTextAsync(StatePath), StringComparison.Ordinal);

        // Nothing is left to try.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(3, switchPorts.ShutCalls);
        Assert.Equal(1, events.ReassertedCount);
    }

    [Fact]
    public async Task Trip_RetryShutsThePort_SaveOfTheReassertionFails_ReportedOnce_InTheFileWithTheNextSave()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = new SuspensionEngine(store, new StaticPolicyProvider(TestPolicies.TwoClients(approvers: 1)), [], [switchPorts], [], [events], _time);
        var enforced = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Assert.False(enforced.Ports!.Verified);
        Assert.Equal(0, events.AmendmentNotSavedCount);

        // The disk fills; the retry reads the port down, and the reassertion is in force but not in the file.
        store.Failing = true;
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var (record, reason) = await events.NextAmendmentNotSavedAsync();
        var (reasserted, _) = await events.NextReassertionAsync();
        Assert.Equal(enforced.Id, record.Id);
        Assert.Equal("acme", record.Scope);
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(record.Reassertions).Cause);
        Assert.Equal("No space left on device", reason);
        Assert.Single(reasserted.Reassertions);
        Assert.Single(engine.Current.Suspensions["acme"].Reassertions);
        Assert.Empty(OnDisk("acme").Reassertions);
        Assert.Equal(1, events.AmendmentNotSavedCount);

        // The next save that succeeds (another client's trip, before the reassertion's own save is tried again) writes it too.
        store.Failing = false;
        await (await engine.TripAsync(Trip("globex"), CancellationToken.None)).Completion;
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(OnDisk("acme").Reassertions).Cause);
        Assert.Equal(1, events.AmendmentNotSavedCount);
    }

    [Fact]
    public async Task Trip_SwitchStaysUnreachable_TriesBackOffToOneAMinute_NoneRecordedUntilOneShutsThePort()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = int.MaxValue / 2 };
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        var waits = new List<double>();
        var retryIn = new List<double>();
        for (var i = 0; i < 9; i++)
        {
            waits.Add((await _time.FireNextTimerAsync(Patience)).TotalSeconds);
            retryIn.Add((await events.NextRetryFailureAsync()).RetryIn.TotalSeconds);
        }

        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], waits);
        Assert.Equal([2, 4, 8, 16, 32, 60, 60, 60, 60], retryIn);
        Assert.Equal(0, events.ReassertedCount);
        Assert.Empty(OnDisk("acme").Reassertions);

        Interlocked.Exchange(ref switchPorts.UnreachableShuts, 0);
        Assert.Equal(TimeSpan.FromSeconds(60), await _time.FireNextTimerAsync(Patience));
        var (_, reassertion) = await events.NextReassertionAsync();

        Assert.Equal(PortReassertionCause.Retry, reassertion.Cause);
        Assert.True(reassertion.Verified);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(OnDisk("acme").Reassertions).Cause);
        Assert.Equal(11, switchPorts.ShutCalls);
    }

    [Fact]
    public async Task Trip_OneOfTwoSwitchesUnreachable_OnlyItsPortIsRetried()
    {
        var policy = TestPolicies.TwoClients(approvers: 1);
        var acme = policy.Clients[0];
        policy = policy with
        {
            Clients =
            [
                acme with { Segments = [acme.Segments[0] with { Ports = [new PortAssignment { Switch = "sw1", Ports = ["Gi1/0/1"] }, new PortAssignment { Switch = "sw2", Ports = ["Gi1/0/7"] }] }] },
                policy.Clients[1],
            ],
        };
        var switchPorts = new PortTableShutter { Broken = { "sw2:Gi1/0/7" } };
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events, policy);

        var enforced = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Assert.Equal(["sw2:Gi1/0/7: no response"], enforced.Ports!.Failures);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);

        await _time.FireNextTimerAsync(Patience);
        var failed = await events.NextRetryFailureAsync();
        Assert.Equal(["sw2:Gi1/0/7"], failed.Attempt.Ports);

        switchPorts.Broken.Clear();
        await _time.FireNextTimerAsync(Patience);
        var (_, reassertion) = await events.NextReassertionAsync();

        Assert.True(reassertion.Verified);
        Assert.Equal(["sw2:Gi1/0/7"], reassertion.Ports);
        Assert.False(switchPorts.Up["sw2:Gi1/0/7"]);
        Assert.Equal(["acme:sw1:Gi1/0/1,sw2:Gi1/0/7", "acme:sw2:Gi1/0/7", "acme:sw2:Gi1/0/7"], switchPorts.Shuts);
    }

    [Fact]
    public async Task Restore_WhileRetriesWaitForTheSwitch_RetriesStop_PortsComeUpAndStayUp()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = int.MaxValue / 2 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        await _time.FireNextTimerAsync(Patience);
        await events.NextRetryFailureAsync();
        await WaitUntilAsync(() => _time.PendingTimers == 1, "the port is not waiting to be tried again");

        // The switch answers again, and the suspension is lifted before the next try.
        Interlocked.Exchange(ref switchPorts.UnreachableShuts, 0);
        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.True(outcome.Record!.Ports!.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        await WaitUntilAsync(() => _time.PendingTimers == 0, "the retry still waits for its next try after the restore");

        _time.Advance(TimeSpan.FromHours(1));

        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(2, switchPorts.ShutCalls);
        Assert.Equal(0, events.ReassertedCount);
        Assert.False(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_WhileARetryIsShuttingThePorts_BringUpWaitsForTheShut_PortsEndUpAndNothingIsTriedAgain()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        // The retry's SET is on its way to the switch when the restore comes.
        switchPorts.HoldShut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _time.FireNextTimerAsync(Patience);
        await switchPorts.ShutStarted.Task.WaitAsync(Patience);
        var restore = engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);

        Assert.False(engine.IsSuspended("acme"));
        Assert.False(restore.IsCompleted); // its bring-up waits for the port lock the retry holds
        switchPorts.HoldShut.SetResult();
        var outcome = await restore.WaitAsync(Patience);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.True(outcome.Record!.Ports!.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        await WaitUntilAsync(() => _time.PendingTimers == 0, "a retry still waits for its next try after the restore");
        _time.Advance(TimeSpan.FromHours(1));
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(2, switchPorts.ShutCalls);
    }

    [Fact]
    public async Task Restore_OfAClientTheSiteWideSuspensionStillHolds_ItsPortsAreRetriedForThatSuspension()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        var site = await (await engine.TripAsync(Trip(SuspensionNames.AllClients), CancellationToken.None)).Completion;
        Assert.True(site.Ports!.Verified);

        // Someone brings acme's port up; acme's own trip then finds the switch unreachable.
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        Interlocked.Exchange(ref switchPorts.UnreachableShuts, 1);
        var own = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Assert.False(own.Ports!.Verified);
        await WaitUntilAsync(() => _time.PendingTimers == 1, "acme's port is not waiting to be tried again");
        var acmeRetry = Assert.Single(_time.Pending());

        // Lifting acme's suspension leaves it suspended by the site's: its port stays to be shut.
        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.True(engine.IsSuspended("acme"));

        // acme's own retry ends; the site-wide suspension's begins.
        await WaitUntilAsync(() => _time.Pending() is [var only] && !ReferenceEquals(only, acmeRetry), "the port is not waiting to be tried again for the site-wide suspension alone");
        await _time.FireNextTimerAsync(Patience);
        var (record, reassertion) = await events.NextReassertionAsync();

        Assert.Equal(site.Id, record.Id);
        Assert.Equal(PortReassertionCause.Retry, reassertion.Cause);
        Assert.Equal(["sw1:Gi1/0/1"], reassertion.Ports);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(OnDisk(SuspensionNames.AllClients).Reassertions).Cause);
    }

    [Fact]
    public async Task Dispose_WhileRetriesWaitForTheSwitch_NoMoreTries()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = int.MaxValue / 2 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        var engine = NewEngine(switchPorts, events);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        await _time.FireNextTimerAsync(Patience);
        await events.NextRetryFailureAsync();
        await WaitUntilAsync(() => _time.PendingTimers == 1, "the port is not waiting to be tried again");

        engine.Dispose();

        Assert.Equal(0, _time.PendingTimers);
        Interlocked.Exchange(ref switchPorts.UnreachableShuts, 0);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, switchPorts.ShutCalls);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal(1, events.RetryFailedCount);
    }

    [Fact]
    public async Task Dispose_WhileARetryIsShuttingThePorts_TheTryIsCancelled_NoMoreTries()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1, HoldShutObservesCancellation = true };
        var events = new PortEvents();
        var engine = NewEngine(switchPorts, events);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        switchPorts.HoldShut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _time.FireNextTimerAsync(Patience);
        await switchPorts.ShutStarted.Task.WaitAsync(Patience);

        engine.Dispose();

        await switchPorts.ShutCancelled.Task.WaitAsync(Patience);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, _time.PendingTimers);
        Assert.Equal(2, switchPorts.ShutCalls);
        Assert.Equal(0, events.ReassertedCount);
        Assert.Equal(0, events.RetryFailedCount);
    }

    [Fact]
    public async Task Restart_PortsCannotBeShutAtStart_RetriedUntilTheyAre_BothOnRecord()
    {
        var switchPorts = new PortTableShutter();
        using (var engine = NewEngine(switchPorts, new PortEvents()))
        {
            await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        }

        switchPorts.Up["sw1:Gi1/0/1"] = true; // someone at the switch while no controller ran
        Interlocked.Exchange(ref switchPorts.UnreachableShuts, 1);
        var events = new PortEvents();
        using var restarted = NewEngine(switchPorts, events);

        var atStart = Assert.Single(await restarted.ReassertAsync(CancellationToken.None));
        Assert.Equal(PortReassertionCause.Start, atStart.Cause);
        Assert.False(atStart.Verified);
        Assert.Equal(PortReassertionCause.Start, (await events.NextReassertionAsync()).Reassertion.Cause);

        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var (_, retried) = await events.NextReassertionAsync();

        Assert.Equal(PortReassertionCause.Retry, retried.Cause);
        Assert.True(retried.Verified);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Equal([PortReassertionCause.Start, PortReassertionCause.Retry], OnDisk("acme").Reassertions.Select(r => r.Cause));
    }

    [Fact]
    public async Task ReassertionRunningWhenARetryComesDue_RetryWaitsForIt_PortItReadDownNotTriedAgain_RecordsAsTheWorkRan()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Assert.Equal(["sw1:Gi1/0/1"], engine.PortsPendingRetry("acme"));

        // A reassertion of the suspension's ports is on its way to the switch when the retry comes due.
        switchPorts.HoldShut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reasserted = engine.ReassertAsync(CancellationToken.None);
        await switchPorts.ShutStarted.Task.WaitAsync(Patience);
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));

        // The reassertion reads the port down; the retry, once its turn comes, has nothing left to try.
        switchPorts.HoldShut.SetResult();
        switchPorts.HoldShut = null;
        Assert.True(Assert.Single(await reasserted.WaitAsync(Patience)).Verified);

        // Work after it waits for whatever the retry did: a second reassertion's shut and record come after.
        Assert.True(Assert.Single(await engine.ReassertAsync(CancellationToken.None).WaitAsync(Patience)).Verified);

        Assert.Equal(["acme:sw1:Gi1/0/1", "acme:sw1:Gi1/0/1", "acme:sw1:Gi1/0/1"], switchPorts.Shuts);
        Assert.Equal(PortReassertionCause.Start, (await events.NextReassertionAsync()).Reassertion.Cause);
        Assert.Equal(PortReassertionCause.Start, (await events.NextReassertionAsync()).Reassertion.Cause);
        Assert.Equal(2, events.ReassertedCount);
        Assert.Equal(0, events.RetryFailedCount);
        Assert.Equal([PortReassertionCause.Start, PortReassertionCause.Start], OnDisk("acme").Reassertions.Select(r => r.Cause));
        Assert.Empty(engine.PortsPendingRetry("acme"));
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    [Fact]
    public async Task Restore_SwitchDoesNotAnswerTheBringUpNorTheFirstRetry_SecondRetryBringsThePortUp_ReportedWithTheRestore()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        var outcome = await RestoredWithThePortNotUpAsync(engine, switchPorts, unanswered: 2);

        Assert.Equal(["sw1:Gi1/0/1: failed: no response"], outcome.Record!.Ports!.Failures);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);

        // One second later the port is tried again; the switch still does not answer.
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var failed = await events.NextBringUpFailureAsync();
        Assert.Same(outcome.Record, failed.Restore);
        Assert.Equal("acme", failed.Attempt.Client);
        Assert.False(failed.Attempt.Ports.Verified);
        Assert.Equal(["sw1:Gi1/0/1: failed: no response"], failed.Attempt.Ports.Failures);
        Assert.Equal(TimeSpan.FromSeconds(2), failed.RetryIn);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);

        // Two seconds after that it answers: the port is brought up and read back up.
        Assert.Equal(TimeSpan.FromSeconds(2), await _time.FireNextTimerAsync(Patience));
        var (restore, bringUp) = await events.NextBroughtUpAsync();

        Assert.Same(outcome.Record, restore);
        Assert.Equal("acme", bringUp.Client);
        Assert.True(bringUp.Ports.Verified);
        Assert.Empty(bringUp.Ports.Failures);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.False(switchPorts.Up.ContainsKey("sw1:Gi1/0/2"));

        // Nothing is left to try.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, switchPorts.BringUpCalls);
        Assert.Equal(["acme:sw1:Gi1/0/1", "acme:sw1:Gi1/0/1"], switchPorts.Releases);
        Assert.Equal(1, events.BroughtUpCount);
        Assert.Equal(1, events.BringUpFailedCount);
    }

    [Fact]
    public async Task Restore_SwitchStaysSilent_TriesBackOffToOneAMinute()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await RestoredWithThePortNotUpAsync(engine, switchPorts, unanswered: int.MaxValue / 2);

        var waits = new List<double>();
        var retryIn = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            waits.Add((await _time.FireNextTimerAsync(Patience)).TotalSeconds);
            retryIn.Add((await events.NextBringUpFailureAsync()).RetryIn.TotalSeconds);
        }

        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60], waits);
        Assert.Equal([2, 4, 8, 16, 32, 60, 60, 60], retryIn);
        Assert.Equal(0, events.BroughtUpCount);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    [Fact]
    public async Task Restore_BringUpNotReadBack_ClientSuspendedAgainBeforeTheRetry_RetryLeavesThePortShutAndEnds()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await RestoredWithThePortNotUpAsync(engine, switchPorts, unanswered: 1);

        // A new incident suspends acme again before the retry comes; its trip shuts the port.
        Assert.True((await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion).Ports!.Verified);
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, switchPorts.BringUpCalls);
        Assert.Equal(0, switchPorts.ReleaseCalls);
        Assert.Equal(0, events.BroughtUpCount);
        Assert.Equal(0, events.BringUpFailedCount);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task Restore_BringUpNotReadBack_RestoredAgainWithThePortUp_EarlierRetryEndsWithoutATry()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await RestoredWithThePortNotUpAsync(engine, switchPorts, unanswered: 1);

        // Suspended and restored again before the first retry: the second restore brings the port up itself.
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Assert.True((await engine.RequestRestoreAsync("acme", "alice", "fixed again", CancellationToken.None)).Record!.Ports!.Verified);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, switchPorts.BringUpCalls);
        Assert.Equal(0, switchPorts.ReleaseCalls);
        Assert.Equal(0, events.BroughtUpCount);
        Assert.Equal(0, events.BringUpFailedCount);
    }

    [Fact]
    public async Task Restore_BringUpNotReadBack_SuspendedAndRestoredAgain_EarlierRetryDueAsTheLaterRestoreLifts_EndsWithoutATryOrARecord()
    {
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = NewEngine(switchPorts, events);
        await RestoredWithThePortNotUpAsync(engine, switchPorts, unanswered: 1);
        await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;

        // The earlier restore's retry comes due once the later restore has lifted the suspension and before that
        // restore brings the port up: the bring-up is the later restore's, not the earlier one's.
        events.OnRestoreRequested = () => _time.Advance(SuspensionEngine.FirstPortRetry);
        var later = await engine.RequestRestoreAsync("acme", "bob", "fixed again", CancellationToken.None);
        events.OnRestoreRequested = null;

        Assert.Equal(RestoreStatus.Restored, later.Status);
        Assert.True(later.Record!.Ports!.Verified);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, events.BroughtUpCount);
        Assert.Equal(0, events.BringUpFailedCount);
        Assert.Equal(2, switchPorts.BringUpCalls);
        Assert.Equal(0, switchPorts.ReleaseCalls);
        Assert.True(switchPorts.Up["sw1:Gi1/0/1"]);
    }

    /// <summary>Acme tripped (its port shut), then restored while the switch leaves the next <paramref name="unanswered"/> bring-ups unanswered.</summary>
    private static async Task<RestoreOutcome> RestoredWithThePortNotUpAsync(SuspensionEngine engine, PortTableShutter switchPorts, int unanswered)
    {
        Assert.True((await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion).Ports!.Verified);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Interlocked.Exchange(ref switchPorts.UnreachableBringUps, unanswered);
        var outcome = await engine.RequestRestoreAsync("acme", "alice", "fixed", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.False(outcome.Record!.Ports!.Verified);
        return outcome;
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
