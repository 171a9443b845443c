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

    /// <summary>When false, every answer says "not verified" without naming a port (a read-back that could not be made).</summary>
    public bool ConfirmsReadBack { get; set; } = true;

    /// <summary>Thrown by the next bring-up instead of answering.</summary>
    public Exception? BringUpFailure { get; set; }

    /// <summary>When set, a bring-up signals <see cref="BringUpStarted"/> and waits for this before it sets the ports.</summary>
    public TaskCompletionSource? HoldBringUp { get; set; }

    public TaskCompletionSource BringUpStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ValueTask<PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ShutCalls);
        return ValueTask.FromResult(Set(ports, up: false));
    }

    public async ValueTask<PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
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

        return Set(ports, up: true);
    }

    private PortActionResult Set(IReadOnlyList<PortAssignment> ports, bool up)
    {
        var failures = new List<string>();
        foreach (var name in ports.SelectMany(p => p.Ports.Select(n => $"{p.Switch}:{n}")))
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
}
