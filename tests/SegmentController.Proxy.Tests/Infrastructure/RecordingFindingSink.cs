using System.Collections.Concurrent;
using SegmentController.Core.Findings;

namespace SegmentController.Proxy.Tests.Infrastructure;

internal sealed class RecordingFindingSink : IFindingSink
{
    public ConcurrentQueue<Finding> Findings { get; } = new();

    public ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        foreach (var finding in findings)
        {
            Findings.Enqueue(finding);
        }

        return ValueTask.CompletedTask;
    }
}
