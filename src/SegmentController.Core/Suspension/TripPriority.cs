using System.Runtime.InteropServices;

namespace SegmentController.Core.Suspension;

/// <summary>
/// Runs a trip's critical section — the durable write and the gate, in-flight and upstream-pool stages —
/// at real-time priority (Linux <c>SCHED_FIFO</c>, priority <see cref="Priority"/>), then returns the
/// thread to the policy it had.
/// </summary>
/// <remarks>
/// Why: the kill switch is needed most when the machine is busiest. On saturated cores a thread woken
/// from <c>fdatasync</c> at normal priority waits for a time slice: 4.2 ms at p99 for a 4 KiB write and
/// fdatasync on a two-core machine beside six busy loops, against 0.23 ms for the same thread at
/// <c>SCHED_FIFO</c>. The section is short and never awaits, so it cannot hold a core for long.
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

    private static string? s_problem = OperatingSystem.IsLinux() ? Probe() : "real-time priority is used on Linux only";

    /// <summary>Why trips run at normal priority; null when they run at real-time priority.</summary>
    public static string? Problem => Volatile.Read(ref s_problem);

    /// <summary>Raises the calling thread until the returned scope is disposed (nothing when it cannot).</summary>
    internal static Scope Raise()
    {
        if (Problem is not null || NativeMethods.SchedGetScheduler(0) != SchedOther)
        {
            // Not permitted, or the thread already runs under another policy: leave it as it is.
            return default;
        }

        var parameters = new NativeMethods.SchedParam { Priority = Priority };
        if (NativeMethods.SchedSetScheduler(0, SchedFifo, ref parameters) != 0)
        {
            Volatile.Write(ref s_problem, Refusal(Marshal.GetLastPInvokeError()));
            return default;
        }

        return new Scope(raised: true);
    }

    /// <summary>The thread's scheduling policy now (0 normal, 1 real-time FIFO); -1 off Linux.</summary>
    internal static int CurrentPolicy() => OperatingSystem.IsLinux() ? NativeMethods.SchedGetScheduler(0) : -1;

    private static string? Probe()
    {
        try
        {
            using var scope = Raise();
            return scope.Raised ? null : Problem ?? "the thread does not run under the normal policy";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"real-time priority is not available: {e.Message}";
        }
    }

    private static string Refusal(int errno) => errno == EPerm
        ? "real-time priority not permitted (needs LimitRTPRIO=1 or CAP_SYS_NICE)"
        : $"real-time priority refused (errno {errno})";

    /// <summary>Returns the thread to the normal policy when disposed, if it was raised.</summary>
    internal readonly struct Scope(bool raised) : IDisposable
    {
        public bool Raised { get; } = raised;

        public void Dispose()
        {
            if (Raised)
            {
                var parameters = new NativeMethods.SchedParam { Priority = 0 };
                _ = NativeMethods.SchedSetScheduler(0, SchedOther, ref parameters);
            }
        }
    }
}
