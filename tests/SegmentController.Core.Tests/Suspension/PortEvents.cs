using System.Threading.Channels;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>What the engine reports of switch ports shut again and of retries that failed, in order, to wait for one by one.</summary>
internal sealed class PortEvents : ISuspensionObserver
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Channel<(SuspensionRecord Record, PortReassertion Reassertion)> _reasserted = Channel.CreateUnbounded<(SuspensionRecord, PortReassertion)>();
    private readonly Channel<(SuspensionRecord Record, PortReassertion Attempt, TimeSpan RetryIn)> _retryFailed = Channel.CreateUnbounded<(SuspensionRecord, PortReassertion, TimeSpan)>();

    public int ReassertedCount;

    public int RetryFailedCount;

    public Task<(SuspensionRecord Record, PortReassertion Reassertion)> NextReassertionAsync() =>
        _reasserted.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public Task<(SuspensionRecord Record, PortReassertion Attempt, TimeSpan RetryIn)> NextRetryFailureAsync() =>
        _retryFailed.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion)
    {
        Interlocked.Increment(ref ReassertedCount);
        _reasserted.Writer.TryWrite((record, reassertion));
    }

    public void PortRetryFailed(SuspensionRecord record, PortReassertion attempt, TimeSpan retryIn)
    {
        Interlocked.Increment(ref RetryFailedCount);
        _retryFailed.Writer.TryWrite((record, attempt, retryIn));
    }

    public void Tripped(SuspensionRecord record)
    {
    }

    public void StageCompleted(SuspensionRecord record, StageTiming timing)
    {
    }

    public void Restored(RestoreRecord record)
    {
    }

    public void StateUnreadable(string message)
    {
    }
}
