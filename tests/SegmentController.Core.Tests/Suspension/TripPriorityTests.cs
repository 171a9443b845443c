using System.Collections.Concurrent;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>
/// A trip's durable write and local stages run at real-time priority, through the acknowledgement to the
/// caller, and the thread goes back to the normal policy afterwards: at once off the thread pool, when it
/// returns to the pool on a pool thread. The tests run as root (CI does), where the raise is permitted.
/// </summary>
public sealed class TripPriorityTests : IDisposable
{
    private const int SchedOther = 0;
    private const int SchedFifo = 1;
    private const int SchedBatch = 3;

    private readonly TempDirectory _dir = new();
    private readonly ConcurrentQueue<string> _policies = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Trip_SaveAndLocalStages_RunAtRealTimePriority_ThenTheThreadIsNormalAgain()
    {
        Assert.True(Environment.IsPrivilegedProcess);
        Assert.Null(TripPriority.Problem);
        using var engine = NewEngine();

        // Uncontended, the trip completes on the calling thread; off the thread pool, the normal policy
        // is back before the trip returns.
        var (result, policyAfter) = await TripOnOwnThreadAsync(engine, policy: null);

        Assert.Equal(SchedOther, policyAfter);
        Assert.Equal([$"save:{SchedFifo}", $"gate:{SchedFifo}", $"inflight:{SchedFifo}", $"upstream-pool:{SchedFifo}"], _policies.Take(4));

        // Ports and webhooks, after the acknowledgement, run at normal priority; the record they amend is saved again
        // by the background writer, whose write runs at real-time priority (a trip may be waiting for it).
        Assert.Equal([$"save:{SchedFifo}"], _policies.Skip(4));
        var persist = result.Record.Stages.Single(s => s.Stage == SuspensionStage.Persist);
        Assert.Null(persist.Detail);
        Assert.True(new FileSuspensionStateStore(_dir.File("suspension.state")).Load().State!.IsSuspended("acme"));
    }

    [Fact]
    public async Task Trip_OnAPoolThread_StaysRaisedThroughTheAcknowledgement_NormalOnceTheThreadIsBackInThePool()
    {
        // The first trip's webhooks wait until both trips returned: its last stage, which takes the
        // engine's lock to save the timings, cannot hold the second trip up.
        var webhooks = new GatedNotifier();
        using var engine = NewEngine(webhooks);

        var (tid, policies, results) = await Task.Run(() =>
        {
            var seen = new List<int>();
            var first = engine.TripAsync(Trip("acme"), CancellationToken.None);
            Assert.True(first.IsCompleted);
            seen.Add(TripPriority.CurrentPolicy());

            // A second trip while the thread is still raised by the first counts as raised.
            var second = engine.TripAsync(Trip("globex"), CancellationToken.None);
            Assert.True(second.IsCompleted);
            seen.Add(TripPriority.CurrentPolicy());
            return (NativeMethods.GetTid(), seen, new[] { first.Result, second.Result });
        });
        webhooks.Release();

        // The caller's synchronous continuation (its acknowledgement) ran at real-time priority.
        Assert.Equal([SchedFifo, SchedFifo], policies);
        Assert.All(results, r => Assert.Null(r.Record.Stages.Single(s => s.Stage == SuspensionStage.Persist).Detail));
        await Task.WhenAll(results.Select(r => r.Completion));

        // Back in the pool, the thread runs its restore: normal policy again.
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (NativeMethods.SchedGetScheduler(tid) != SchedOther)
        {
            await Task.Delay(10, guard.Token);
        }

        Assert.Equal(SchedOther, NativeMethods.SchedGetScheduler(tid));
        Assert.True(engine.IsSuspended("acme"));
        Assert.True(engine.IsSuspended("globex"));
    }

    [Fact]
    public async Task Trip_OnAThreadUnderAnotherPolicy_LeavesItAlone_AndThePersistStageSaysSo()
    {
        using var engine = NewEngine();

        var (result, policyAfter) = await TripOnOwnThreadAsync(engine, policy: SchedBatch);

        Assert.Equal(SchedBatch, policyAfter);
        Assert.Equal([$"save:{SchedBatch}", $"gate:{SchedBatch}", $"inflight:{SchedBatch}", $"upstream-pool:{SchedBatch}"], _policies.Take(4));
        var persist = result.Record.Stages.Single(s => s.Stage == SuspensionStage.Persist);
        Assert.True(persist.Succeeded);
        Assert.StartsWith("normal priority:", persist.Detail, StringComparison.Ordinal);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task BackgroundSaveOfATripsTimings_WritesAtRealTimePriority_ItsThreadIsNormalAgainRightAfterTheWrite()
    {
        Assert.True(Environment.IsPrivilegedProcess);
        Assert.Null(TripPriority.Problem);
        var webhooks = new GatedNotifier();
        var store = new PolicyRecordingStore(new FileSuspensionStateStore(_dir.File("suspension.state")), _policies);
        var reports = new NotSavedThreadObserver();
        using var engine = new SuspensionEngine(store, new StaticPolicyProvider(TestPolicies.TwoClients()), [], [], [webhooks], [reports], TimeProvider.System);

        // Tripped off the thread pool: no pool thread is left raised by this trip for whatever it runs next.
        var tripped = new TaskCompletionSource<TripResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                tripped.SetResult(engine.TripAsync(Trip("acme"), CancellationToken.None).GetAwaiter().GetResult());
            }
            catch (Exception e)
            {
                tripped.SetException(e);
            }
        });
        thread.Start();
        var trip = await tripped.Task.WaitAsync(TimeSpan.FromMinutes(1));
        thread.Join();

        // The trip's last stage ends while the disk is full: the background write of its timings fails, and the
        // writer reports it at once, on its own thread.
        store.Failing = true;
        webhooks.Release();
        await trip.Completion.WaitAsync(TimeSpan.FromMinutes(1));
        var (reportTid, scopesThen) = await reports.First.Task.WaitAsync(TimeSpan.FromMinutes(1));
        store.Failing = false;

        // The write ran raised; the writer's own raise ended with the write, on its thread, before it went on (a
        // pool thread may still be raised by a trip whose restore is queued to it: that one is not the writer's).
        var (writerTid, policyInWrite, scopesInWrite) = Assert.Single(store.Failed);
        Assert.Equal(SchedFifo, policyInWrite);
        Assert.Equal(writerTid, reportTid);
        Assert.True(scopesThen < scopesInWrite, $"the writer's thread was held raised by {scopesInWrite} scope(s) in the write and {scopesThen} after it");
    }

    // Trips acme on a thread of its own (not the pool's), first put under the given policy; returns the
    // trip (its remote stages done) and the thread's policy right after the trip returned.
    private static async Task<(TripResult Result, int PolicyAfter)> TripOnOwnThreadAsync(SuspensionEngine engine, int? policy)
    {
        var outcome = new TaskCompletionSource<(TripResult Result, int PolicyAfter)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                if (policy is { } p)
                {
                    var parameters = new NativeMethods.SchedParam();
                    Assert.Equal(0, NativeMethods.SchedSetScheduler(0, p, ref parameters));
                }

                var trip = engine.TripAsync(Trip("acme"), CancellationToken.None);
                Assert.True(trip.IsCompleted);
                outcome.SetResult((trip.GetAwaiter().GetResult(), TripPriority.CurrentPolicy()));
            }
            catch (Exception e)
            {
                outcome.SetException(e);
            }
        });
        thread.Start();
        var done = await outcome.Task;
        thread.Join();
        await done.Result.Completion;
        return done;
    }

    private SuspensionEngine NewEngine(ISuspensionNotifier? notifier = null) => new(
        new PolicyRecordingStore(new FileSuspensionStateStore(_dir.File("suspension.state")), _policies),
        new StaticPolicyProvider(TestPolicies.TwoClients()),
        [
            new PolicyRecordingEnforcer(SuspensionStage.Gate, _policies),
            new PolicyRecordingEnforcer(SuspensionStage.InFlight, _policies),
            new PolicyRecordingEnforcer(SuspensionStage.UpstreamPool, _policies),
        ],
        [],
        notifier is null ? [] : [notifier],
        [],
        TimeProvider.System);

    private static TripRequest Trip(string scope) => new()
    {
        Scope = scope,
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "drill",
    };

    private sealed class GatedNotifier : ISuspensionNotifier
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _open.TrySetResult();

        public async ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken) => await _open.Task.WaitAsync(cancellationToken);

        public ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    // Notes the scheduling policy of the thread that saves, after the load at start-up; a full disk on demand, noting
    // the thread of each save it failed, its policy then and how many scopes held it raised.
    private sealed class PolicyRecordingStore(ISuspensionStateStore inner, ConcurrentQueue<string> policies) : ISuspensionStateStore
    {
        public bool Failing { get; set; }

        public ConcurrentQueue<(int Tid, int Policy, int Scopes)> Failed { get; } = new();

        public SuspensionStateLoad Load() => inner.Load();

        public void Save(SuspensionState state)
        {
            if (Failing)
            {
                var tid = NativeMethods.GetTid();
                Failed.Enqueue((tid, TripPriority.CurrentPolicy(), TripPriority.ScopesOf(tid)));
                throw new IOException("No space left on device");
            }

            inner.Save(state);
            policies.Enqueue($"save:{TripPriority.CurrentPolicy()}");
        }
    }

    // The thread that first reports an amendment not saved, and how many scopes held it raised then.
    private sealed class NotSavedThreadObserver : ISuspensionObserver
    {
        public TaskCompletionSource<(int Tid, int Scopes)> First { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void AmendmentNotSaved(SuspensionRecord record, string reason)
        {
            var tid = NativeMethods.GetTid();
            First.TrySetResult((tid, TripPriority.ScopesOf(tid)));
        }

        public void Tripped(SuspensionRecord record)
        {
        }

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        public void Restored(RestoreRecord record)
        {
        }

        public void StateUnreadable(string message)
        {
        }
    }

    private sealed class PolicyRecordingEnforcer(SuspensionStage stage, ConcurrentQueue<string> policies) : ISuspensionEnforcer
    {
        public SuspensionStage Stage { get; } = stage;

        public void Enforce(string scope) => policies.Enqueue($"{SuspensionNames.Of(Stage)}:{TripPriority.CurrentPolicy()}");
    }
}
