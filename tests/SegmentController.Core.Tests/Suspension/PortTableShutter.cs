using System.Collections.Concurrent;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

// Ports as a switch keeps them (admin up or down), so a test can bring one up behind the engine's back.
// The SNMP implementation (SET ifAdminStatus, read back) is tested against a real snmpd in the SNMP tests.
internal sealed class PortTableShutter : IPortShutter
{
    public ConcurrentDictionary<string, bool> Up { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Broken { get; } = new(StringComparer.Ordinal);

    public int ShutCalls;

    public ValueTask<PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ShutCalls);
        return Set(ports, up: false);
    }

    public ValueTask<PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
        Set(ports, up: true);

    private ValueTask<PortActionResult> Set(IReadOnlyList<PortAssignment> ports, bool up)
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
            if (Up[name] != up)
            {
                failures.Add($"{name}: read back {(Up[name] ? "up" : "down")}");
            }
        }

        return ValueTask.FromResult(new PortActionResult { Verified = failures.Count == 0, Failures = failures });
    }
}
