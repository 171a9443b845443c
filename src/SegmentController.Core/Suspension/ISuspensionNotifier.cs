namespace SegmentController.Core.Suspension;

/// <summary>Tells the outside (webhooks) about trips and restores.</summary>
public interface ISuspensionNotifier
{
    /// <summary>Called after a trip's local stages and port shutdown.</summary>
    ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken);

    /// <summary>Called after a restore.</summary>
    ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken);
}
