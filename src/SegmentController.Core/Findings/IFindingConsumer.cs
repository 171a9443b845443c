namespace SegmentController.Core.Findings;

/// <summary>
/// Receives every published finding after it has been counted: the store records it, incidents group
/// it, the suspension engine acts on it. Consumers run in registration order.
/// </summary>
public interface IFindingConsumer
{
    /// <summary>Handles findings published together.</summary>
    ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken);
}
