using System.Runtime.InteropServices;

namespace SegmentController.Core.Suspension;

/// <summary>
/// Runs a trip's critical section — the durable write and the gate, in-flight and upstream-pool stages —
/// at real-time priority (Linux <c>SCHED_FIFO</c>, priority <see cref="Priority"/>) through the return
/// of the acknowledgement to the caller, then returns the thread to the normal policy.
/// </summary>
/// <remarks>
/// Why: the kill switch is needed most when the machine is busiest. On saturated cores a thread woken
/// from <c>fdatasync</c> at normal priority waits for a time slice: 4.2 ms at p99 for a 4 KiB write and
/// fdatasync on a two-core machine beside six busy loops, against 0.23 ms for the same thread at
/// <c>SCHED_FIFO</c>. The section is short and never awaits, so it cannot hold a core for long.
/// <para>
/// When the normal policy comes back: leaving <c>SCHED_FIFO</c> makes the kernel reschedule the thread
/// at once, and on saturated cores it then waited for a time slice before it could hand the
/// acknowledgement to its caller (the proxy benchmark, instrumented, 100 trips: the drop alone took
/// 0.06–4.1 ms in the five slowest acknowledgements). So on a thread-pool thread the policy is restored by a work item queued on that
/// thread's own queue: it runs when the thread goes back to the pool, after the caller's synchronous
/// continuation (the acknowledgement). An idle pool thread may take that item first, while the trip's thread
/// is still handing the acknowledgement over; taken so, it restores the policy <see cref="StolenRestoreDelay"/>
/// later rather than at once. A thread of any other kind gets the normal policy back before the trip returns. A trip on a thread still
/// raised by an earlier one counts as raised; the last restore puts the thread back.
/// </para>
/// <para>
/// The engine's background writer (the saves of changes not yet in the file, outside the engine's lock) runs its
/// write at this priority too: a trip that comes while it writes waits for that write (the file's slots are written
/// in turn), and a writer left at normal priority on a busy machine would keep the trip waiting for its time slice.
/// It raises its thread around the synchronous write alone and restores it right after, on the same thread
/// (<see cref="Scope.RestoreNow"/>).
/// </para>
/// Needs <c>CAP_SYS_NICE</c> or an <c>RLIMIT_RTPRIO</c> of at least <see cref="Priority"/> (the systemd
/// unit sets <c>LimitRTPRIO=1</c>); without either, trips run at normal priority and
/// <see cref="Problem"/> says why (the persist stage of every trip repeats it).
/// </remarks>
public static class TripPriority
{
    /// <summary>The real-time priority used: the lowest, enough to run before every normal thread.</summary>
    public const int Priority = 1;

    private const int SchedOther = 0;
    private const int SchedFifo = 1;
    private const int EPerm = 1;

    // Threads (kernel thread ids) raised here and not yet restored, with the count of their scopes
    // (before s_problem: its probe raises and restores).
    private static readonly Dictionary<int, int> s_raised = [];
    private static readonly Lock s_gate = new();

    private static string? s_problem = OperatingSystem.IsLinux() ? Probe() : "real-time priority is used on Linux only";

    /// <summary>Why trips run at normal priority; null when they run at real-time priority.</summary>
    public static string? Problem => Volatile.Read(ref s_problem);

    /// <summary>Raises the calling thread until the returned scope is disposed (nothing when it cannot).</summary>
    internal static Scope Raise()
    {
        if (Problem is not null)
        {
            return default;
        }

        var tid = NativeMethods.GetTid();
        lock (s_gate)
        {
            if (s_raised.TryGetValue(tid, out var scopes))
            {
                // Still raised by an earlier trip whose restore has not run yet.
                s_raised[tid] = scopes + 1;
                return new Scope(tid);
            }

            if (NativeMethods.SchedGetScheduler(0) != SchedOther)
            {
                // The thread runs under another policy: leave it as it is.
                return default;
            }

            var parameters = new NativeMethods.SchedParam { Priority = Priority };
            if (NativeMethods.SchedSetScheduler(0, SchedFifo, ref parameters) != 0)
            {
                Volatile.Write(ref s_problem, Refusal(Marshal.GetLastPInvokeError()));
                return default;
            }

            s_raised[tid] = 1;
            return new Scope(tid);
        }
    }

    /// <summary>How many scopes hold the thread <paramref name="tid"/> raised now (0: none; the last one ended returns it to the normal policy).</summary>
    internal static int ScopesOf(int tid)
    {
        lock (s_gate)
        {
            return s_raised.GetValueOrDefault(tid);
        }
    }

    /// <summary>The thread's scheduling policy now (0 normal, 1 real-time FIFO); -1 off Linux.</summary>
    internal static int CurrentPolicy() => OperatingSystem.IsLinux() ? NativeMethods.SchedGetScheduler(0) : -1;

    private static string? Probe()
    {
        try
        {
            var scope = Raise();
            if (!scope.Raised)
            {
                return Problem ?? "the thread does not run under the normal policy";
            }

            Restore(scope.Tid);
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"real-time priority is not available: {e.Message}";
        }
    }

    /// <summary>How long a restore that another pool thread took from the trip's thread waits first.</summary>
    internal static readonly TimeSpan StolenRestoreDelay = TimeSpan.FromMilliseconds(2);

    // The restore queued on a pool thread's own queue: on that thread, now; taken by another, a moment later.
    private static void RestoreOnReturn(int tid)
    {
        if (NativeMethods.GetTid() == tid)
        {
            Restore(tid);
            return;
        }

        _ = Task.Delay(StolenRestoreDelay).ContinueWith(static (_, state) => Restore((int)state!), tid, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private static string Refusal(int errno) => errno == EPerm
        ? "real-time priority not permitted (needs LimitRTPRIO=1 or CAP_SYS_NICE)"
        : $"real-time priority refused (errno {errno})";

    // One scope of the thread is over: the last one returns it to the normal policy.
    private static void Restore(int tid)
    {
        lock (s_gate)
        {
            if (!s_raised.TryGetValue(tid, out var scopes))
            {
                return;
            }

            if (scopes > 1)
            {
                s_raised[tid] = scopes - 1;
                return;
            }

            s_raised.Remove(tid);
            if (NativeMethods.SchedGetScheduler(tid) == SchedFifo)
            {
                var parameters = new NativeMethods.SchedParam { Priority = 0 };
                _ = NativeMethods.SchedSetScheduler(tid, SchedOther, ref parameters);
            }
        }
    }

    /// <summary>Returns the thread to the normal policy when disposed, if it was raised (see the remarks on when).</summary>
    internal readonly struct Scope(int tid) : IDisposable
    {
        public bool Raised => Tid != 0;

        public int Tid { get; } = tid;

        /// <summary>
        /// Ends the scope at once, on the calling thread (the thread it raised): the last scope of the thread returns
        /// it to the normal policy before this returns, on a thread-pool thread too. For work with no acknowledgement
        /// to hand over, that must not keep a pool thread raised for whatever runs on it next.
        /// </summary>
        public void RestoreNow()
        {
            if (Raised)
            {
                Restore(Tid);
            }
        }

        public void Dispose()
        {
            if (!Raised)
            {
                return;
            }

            if (Thread.CurrentThread.IsThreadPoolThread)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static tid => RestoreOnReturn(tid), Tid, preferLocal: true);
            }
            else
            {
                Restore(Tid);
            }
        }
    }
}
