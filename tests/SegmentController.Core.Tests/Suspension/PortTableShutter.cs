using System.Collections.Concurrent;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

// Ports as a switch keeps them (admin up or down), so a test can bring one up behind the engine's back,
// hold a bring-up half-way, make one fail, or answer without confirming the read-back.
// The SNMP implementation (SET ifAdminStatus, read back) is tested against a real snmpd in the SNMP tests.
internal sealed class PortTableShutter : IPortShutter
{
    public ConcurrentDictionary<string, bool> Up { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Broken { get; } = new(StringComparer.Ordinal);

    public int ShutCalls;

    /// <summary>Each shut asked for, as <c>client:switch:port,…</c>, in order.</summary>
    public ConcurrentQueue<string> Shuts { get; } = new();

    /// <summary>The next this many shuts answer "no response" for every port and leave the ports as they are (a switch that cannot be reached).</summary>
    public int UnreachableShuts;

    /// <summary>
    /// When set, a shut signals <see cref="ShutStarted"/> and waits for this before it sets the ports; it
    /// ignores the cancellation (an SNMP SET already sent cannot be called back), unless
    /// <see cref="HoldShutObservesCancellation"/>.
    /// </summary>
    public TaskCompletionSource? HoldShut { get; set; }

    public bool HoldShutObservesCancellation { get; set; }

    public TaskCompletionSource ShutStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a held shut that observes the cancellation was cancelled.</summary>
    public TaskCompletionSource ShutCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When false, every answer says "not verified" without naming a port (a read-back that could not be made).</summary>
    public bool ConfirmsReadBack { get; set; } = true;

    /// <summary>The next this many bring-ups (releases too) answer "no response" for every port and leave the ports as they are.</summary>
    public int UnreachableBringUps;

    public int BringUpCalls;

    /// <summary>Thrown by the next bring-up (or release) instead of answering.</summary>
    public Exception? BringUpFailure { get; set; }

    /// <summary>When set, a bring-up (or release) signals <see cref="BringUpStarted"/> and waits for this before it sets the ports.</summary>
    public TaskCompletionSource? HoldBringUp { get; set; }

    public TaskCompletionSource BringUpStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask<PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ShutCalls);
        Shuts.Enqueue($"{clientId}:{string.Join(',', Names(ports))}");
        if (HoldShut is { } hold)
        {
            ShutStarted.TrySetResult();
            if (!HoldShutObservesCancellation)
            {
                await hold.Task;
            }
            else
            {
                try
                {
                    await hold.Task.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    ShutCancelled.TrySetResult();
                    throw;
                }
            }
        }

        if (Interlocked.Decrement(ref UnreachableShuts) >= 0)
        {
            return new PortActionResult { Verified = false, Failures = [.. Names(ports).Select(n => $"{n}: failed: no response")] };
        }

        Interlocked.Increment(ref UnreachableShuts);
        return Set(ports, up: false);
    }

    /// <summary>Releases (bring-ups of exactly the ports asked), counted apart from the bring-ups of a client's every port.</summary>
    public int ReleaseCalls;

    /// <summary>Each release asked for, as <c>client:switch:port,…</c>, in order.</summary>
    public ConcurrentQueue<string> Releases { get; } = new();

    public ValueTask<PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref BringUpCalls);
        return SetUpAsync(ports, cancellationToken);
    }

    // A release sets exactly the ports asked up; to the switch it is a bring-up like any other (it may not answer).
    public ValueTask<PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ReleaseCalls);
        Releases.Enqueue($"{clientId}:{string.Join(',', Names(ports))}");
        return SetUpAsync(ports, cancellationToken);
    }

    private async ValueTask<PortActionResult> SetUpAsync(IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        if (BringUpFailure is { } failure)
        {
            throw failure;
        }

        if (HoldBringUp is { } hold)
        {
            BringUpStarted.TrySetResult();
            await hold.Task.WaitAsync(cancellationToken);
        }

        if (Interlocked.Decrement(ref UnreachableBringUps) >= 0)
        {
            return new PortActionResult { Verified = false, Failures = [.. Names(ports).Select(n => $"{n}: failed: no response")] };
        }

        Interlocked.Increment(ref UnreachableBringUps);
        return Set(ports, up: true);
    }

    private PortActionResult Set(IReadOnlyList<PortAssignment> ports, bool up)
    {
        var failures = new List<string>();
        foreach (var name in Names(ports))
        {
            if (Broken.Contains(name))
            {
                failures.Add($"{name}: no response");
                continue;
            }

            Up[name] = up;
        }

        return ConfirmsReadBack
            ? new PortActionResult { Verified = failures.Count == 0, Failures = failures }
            : new PortActionResult { Verified = false, Failures = failures };
    }

    private static IEnumerable<string> Names(IReadOnlyList<PortAssignment> ports) => ports.SelectMany(p => p.Ports.Select(n => $"{p.Switch}:{n}"));
}
