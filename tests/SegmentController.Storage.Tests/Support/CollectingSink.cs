using SegmentController.Core.Findings;

namespace SegmentController.Storage.Tests.Support;

/// <summary>Keeps published findings (stands in for the host's pipeline, which lives in the segctl project).</summary>
public sealed class CollectingSink : IFindingSink
{
    public List<Finding> Findings { get; } = [];

    public ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        lock (Findings)
        {
            Findings.AddRange(findings);
        }

        return ValueTask.CompletedTask;
    }
}
