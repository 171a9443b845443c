using System.Collections.Concurrent;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

// The SNMP side is another component with its own tests; here only the engine's use of the seam matters.
internal sealed class RecordingPortShutter(ConcurrentQueue<string> log) : IPortShutter
{
    public ValueTask<PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        log.Enqueue($"shut:{clientId}:{string.Join(',', ports.SelectMany(p => p.Ports.Select(n => $"{p.Switch}/{n}")))}");
        return ValueTask.FromResult(new PortActionResult { Verified = true });
    }

    public ValueTask<PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        log.Enqueue($"up:{clientId}");
        return ValueTask.FromResult(new PortActionResult { Verified = true });
    }

    public ValueTask<PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
    {
        log.Enqueue($"release:{clientId}:{string.Join(',', ports.SelectMany(p => p.Ports.Select(n => $"{p.Switch}/{n}")))}");
        return ValueTask.FromResult(new PortActionResult { Verified = true });
    }
}
