namespace SegmentController.Core.Findings;

/// <summary>
/// Where verifiers (capture, SNMP, proxy, audits, store) hand their findings. The sink records them,
/// counts them in metrics and passes them to incidents and the suspension engine.
/// </summary>
public interface IFindingSink
{
    /// <summary>Publishes findings made together (one poll, one analysis window).</summary>
    /// <remarks>Must not throw for a well-formed finding; it may block briefly for durability.</remarks>
    ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken);
}
