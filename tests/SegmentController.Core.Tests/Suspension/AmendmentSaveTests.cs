using System.Net;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>
/// A change to the record of a suspension in force (stage timings and ports read back, a reassertion, a release)
/// is put in force at once and saved by the background flusher outside the engine's lock: a trip that comes while
/// it is being saved takes the lock at once and waits only for the write already under way, a save that fails is
/// tried again on the retry schedule until the file has it, and a clean stop saves it once more.
/// </summary>
public sealed class AmendmentSaveTests : IDisposable
{
    private const int SchedFifo = 1;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private string StatePath => _dir.File("state/suspension.state");

    private SuspensionRecord OnDisk(string scope) => new FileSuspensionStateStore(StatePath).Load().State!.Suspensions[scope];

    private static TripRequest Trip(string scope) => new()
    {
        Scope = scope,
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "incident 42",
    };

    [Fact]
    public async Task Trip_WhileAnotherTripsTimingsAreBeingSaved_TakesTheEngineLockAtOnce_WaitsOnlyForThatWrite_ItsSaveCarriesTheAmendmentQueued()
    {
        Assert.True(Environment.IsPrivilegedProcess);
        Assert.Null(TripPriority.Problem);
        var store = new GatedSaveStore(new FileSuspensionStateStore(StatePath));
        var webhooks = new ScopeGatedNotifier();
        using var engine = new SuspensionEngine(store, new StaticPolicyProvider(ThreeClients()), [], [], [webhooks], [], _time);
        var acme = await engine.TripAsync(Trip("acme"), CancellationToken.None);
        var globex = await engine.TripAsync(Trip("globex"), CancellationToken.None);

        // Acme's last stage ends; the save of its timings is slow to reach the disk.
        store.HoldNext();
        var before = store.Saved.Count;
        webhooks.Release("acme");
        await store.Entered.Task.WaitAsync(Patience);

        // Globex's last stage ends meanwhile: its timings are in force at once, not queued behind acme's save.
        webhooks.Release("globex");
        await WaitUntilAsync(
            () => engine.Current.Suspensions["globex"].Stages.Any(s => s.Stage == SuspensionStage.Webhooks),
            "globex's stage timings waited for the save of acme's before they were in force");

        // A trip of initech now takes the engine lock at once and is in its persist (a trip raises its thread once it
        // holds the lock), waiting only for the write already under way: the file's slots are written in turn.
        var initech = TripOnOwnThread(engine, "initech");
        var tid = await initech.Tid.WaitAsync(Patience);
        await WaitUntilAsync(
            () => NativeMethods.SchedGetScheduler(tid) == SchedFifo,
            "initech's trip did not get the engine lock while acme's timings were being saved");
        Assert.False(initech.Result.IsCompleted);
        Assert.Equal(before, store.Saved.Count);

        store.Release();
        var tripped = await initech.Result.WaitAsync(Patience);
        webhooks.Release("initech");
        await Task.WhenAll(acme.Completion, globex.Completion, tripped.Completion).WaitAsync(Patience);

        // The write under way, then the trip's, which carries globex's timings: no save of them came between.
        var after = store.Saved.Skip(before).ToArray();
        Assert.True(after.Length >= 2, $"{after.Length} save(s) after the held one");
        Assert.False(after[0].IsSuspended("initech"));
        Assert.Contains(after[0].Suspensions["acme"].Stages, s => s.Stage == SuspensionStage.Webhooks);
        Assert.DoesNotContain(after[0].Suspensions["globex"].Stages, s => s.Stage == SuspensionStage.Webhooks);
        Assert.True(after[1].IsSuspended("initech"));
        Assert.Contains(after[1].Suspensions["globex"].Stages, s => s.Stage == SuspensionStage.Webhooks);
        Assert.All(after.Skip(1), s => Assert.True(s.IsSuspended("initech")));
        Assert.All(new[] { "acme", "globex", "initech" }, scope => Assert.Contains(OnDisk(scope).Stages, s => s.Stage == SuspensionStage.Webhooks));
    }

    [Fact]
    public async Task Reassertion_SaveFails_Reported_SavedAgainOnItsOwnOnTheSchedule_InTheFileWithNoOtherSave()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using var engine = new SuspensionEngine(store, new StaticPolicyProvider(TestPolicies.TwoClients(approvers: 1)), [], [switchPorts], [], [events], _time);
        var enforced = await ReassertedWhileTheDiskIsFullAsync(engine, switchPorts, events, store);

        // Saved again 1 s later (the disk still full: reported again, once), then 2 s after that, when it has room.
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var (again, reason) = await events.NextAmendmentNotSavedAsync();
        Assert.Equal(enforced.Id, again.Id);
        Assert.Equal("No space left on device", reason);
        Assert.Empty(OnDisk("acme").Reassertions);
        store.Failing = false;
        Assert.Equal(TimeSpan.FromSeconds(2), await _time.FireNextTimerAsync(Patience));
        await WaitUntilAsync(() => OnDisk("acme").Reassertions.Count == 1, "the reassertion was not saved again once the disk had room");
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(OnDisk("acme").Reassertions).Cause);

        // In the file: nothing is tried again.
        await WaitUntilAsync(() => _time.PendingTimers == 0, "the state is still being saved again after a save that succeeded");
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, events.AmendmentNotSavedCount);
        Assert.False(engine.IsSuspended("globex"));
    }

    [Fact]
    public async Task Stop_AReassertionNotSavedYet_TheCleanStopSavesIt()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using (var engine = new SuspensionEngine(store, new StaticPolicyProvider(TestPolicies.TwoClients(approvers: 1)), [], [switchPorts], [], [events], _time))
        {
            await ReassertedWhileTheDiskIsFullAsync(engine, switchPorts, events, store);

            // The disk has room again before the next save is due; the controller is stopped first.
            store.Failing = false;
        }

        Assert.Equal(PortReassertionCause.Retry, Assert.Single(OnDisk("acme").Reassertions).Cause);
        Assert.Equal(1, events.AmendmentNotSavedCount);
    }

    [Fact]
    public async Task Stop_AReassertionNotSavedYet_TheSaveAtStopFails_ReportedAgain_TheFileHasTheRecordAsItWas()
    {
        var switchPorts = new PortTableShutter { UnreachableShuts = 1 };
        switchPorts.Up["sw1:Gi1/0/1"] = true;
        var events = new PortEvents();
        var store = new FailingSaveStore(new FileSuspensionStateStore(StatePath));
        using (var engine = new SuspensionEngine(store, new StaticPolicyProvider(TestPolicies.TwoClients(approvers: 1)), [], [switchPorts], [], [events], _time))
        {
            await ReassertedWhileTheDiskIsFullAsync(engine, switchPorts, events, store);
        }

        Assert.Equal(2, events.AmendmentNotSavedCount);
        var (record, reason) = await events.NextAmendmentNotSavedAsync();
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(record.Reassertions).Cause);
        Assert.Equal("No space left on device", reason);
        Assert.Empty(OnDisk("acme").Reassertions);
    }

    /// <summary>
    /// Acme tripped while its port does not answer; the disk fills, then the retry reads the port down: the
    /// reassertion is in force, reported not saved once, and the file has the record without it.
    /// </summary>
    private async Task<SuspensionRecord> ReassertedWhileTheDiskIsFullAsync(SuspensionEngine engine, PortTableShutter switchPorts, PortEvents events, FailingSaveStore store)
    {
        var enforced = await (await engine.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        Assert.False(enforced.Ports!.Verified);
        store.Failing = true;
        Assert.Equal(TimeSpan.FromSeconds(1), await _time.FireNextTimerAsync(Patience));
        var (record, reason) = await events.NextAmendmentNotSavedAsync();
        await events.NextReassertionAsync();
        Assert.Equal(enforced.Id, record.Id);
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(record.Reassertions).Cause);
        Assert.Equal("No space left on device", reason);
        Assert.False(switchPorts.Up["sw1:Gi1/0/1"]);
        Assert.Single(engine.Current.Suspensions["acme"].Reassertions);
        Assert.Empty(OnDisk("acme").Reassertions);
        Assert.Equal(1, events.AmendmentNotSavedCount);
        return enforced;
    }

    /// <summary>Acme, globex and initech, each with its own port on sw1.</summary>
    private static SitePolicy ThreeClients()
    {
        var policy = TestPolicies.TwoClients(approvers: 1);
        var acme = policy.Clients[0];
        var initech = acme with
        {
            Id = "initech",
            Name = "initech",
            Segments = [acme.Segments[0] with { Subnets = [IPNetwork.Parse("10.3.0.0/24")], Ports = [new PortAssignment { Switch = "sw1", Ports = ["Gi1/0/3"] }] }],
        };
        return policy with { Clients = [.. policy.Clients, initech] };
    }

    /// <summary>Trips <paramref name="scope"/> on a thread of its own (not the pool's), whose kernel thread id is given first.</summary>
    private static (Task<int> Tid, Task<TripResult> Result) TripOnOwnThread(SuspensionEngine engine, string scope)
    {
        var tid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var result = new TaskCompletionSource<TripResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            tid.SetResult(NativeMethods.GetTid());
            try
            {
                result.SetResult(engine.TripAsync(Trip(scope), CancellationToken.None).GetAwaiter().GetResult());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        })
        {
            IsBackground = true,
        };
        thread.Start();
        return (tid.Task, result.Task);
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

    // Webhooks that wait, per scope, until released: the trip's last stage (and the save of its timings) waits too.
    private sealed class ScopeGatedNotifier : ISuspensionNotifier
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _open = new(StringComparer.Ordinal);

        public void Release(string scope) => Gate(scope).TrySetResult();

        public async ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken) =>
            await Gate(record.Scope).Task.WaitAsync(cancellationToken);

        public ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        private TaskCompletionSource Gate(string scope) =>
            _open.GetOrAdd(scope, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
