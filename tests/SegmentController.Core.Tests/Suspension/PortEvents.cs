using System.Threading.Channels;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>What the engine reports of switch ports shut again and of retries that failed, in order, to wait for one by one.</summary>
internal sealed class PortEvents : ISuspensionObserver
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Channel<(SuspensionRecord Record, PortReassertion Reassertion)> _reasserted = Channel.CreateUnbounded<(SuspensionRecord, PortReassertion)>();
    private readonly Channel<(SuspensionRecord Record, PortReassertion Attempt, TimeSpan RetryIn)> _retryFailed = Channel.CreateUnbounded<(SuspensionRecord, PortReassertion, TimeSpan)>();

    private readonly Channel<(RestoreRecord Restore, PortBringUp BringUp)> _broughtUp = Channel.CreateUnbounded<(RestoreRecord, PortBringUp)>();
    private readonly Channel<(RestoreRecord Restore, PortBringUp Attempt, TimeSpan RetryIn)> _bringUpFailed = Channel.CreateUnbounded<(RestoreRecord, PortBringUp, TimeSpan)>();

    public int ReassertedCount;

    public int BroughtUpCount;

    public int BringUpFailedCount;

    public Task<(RestoreRecord Restore, PortBringUp BringUp)> NextBroughtUpAsync() =>
        _broughtUp.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public Task<(RestoreRecord Restore, PortBringUp Attempt, TimeSpan RetryIn)> NextBringUpFailureAsync() =>
        _bringUpFailed.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public void PortsBroughtUp(RestoreRecord restore, PortBringUp bringUp)
    {
        Interlocked.Increment(ref BroughtUpCount);
        _broughtUp.Writer.TryWrite((restore, bringUp));
    }

    public void PortBringUpRetryFailed(RestoreRecord restore, PortBringUp attempt, TimeSpan retryIn)
    {
        Interlocked.Increment(ref BringUpFailedCount);
        _bringUpFailed.Writer.TryWrite((restore, attempt, retryIn));
    }

    private readonly Channel<(IReadOnlyList<string> Clients, string Reason)> _owedNotSaved = Channel.CreateUnbounded<(IReadOnlyList<string>, string)>();

    public int OwedNotSavedCount;

    public Task<(IReadOnlyList<string> Clients, string Reason)> NextOwedNotSavedAsync() =>
        _owedNotSaved.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public void OwedBringUpsNotSaved(IReadOnlyList<string> clients, string reason)
    {
        Interlocked.Increment(ref OwedNotSavedCount);
        _owedNotSaved.Writer.TryWrite((clients, reason));
    }

    private readonly Channel<(SuspensionRecord Record, string Reason)> _amendmentNotSaved = Channel.CreateUnbounded<(SuspensionRecord, string)>();

    public int AmendmentNotSavedCount;

    public Task<(SuspensionRecord Record, string Reason)> NextAmendmentNotSavedAsync() =>
        _amendmentNotSaved.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    public void AmendmentNotSaved(SuspensionRecord record, string reason)
    {
        Interlocked.Increment(ref AmendmentNotSavedCount);
        _amendmentNotSaved.Writer.TryWrite((record, reason));
    }

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

    /// <summary>Run when a restore is asked for, on the thread that asks, after it took effect and before its ports are brought up.</summary>
    public Action? OnRestoreRequested { get; set; }

    public void RestoreRequested(SuspensionRecord suspension, PendingRestore pending) => OnRestoreRequested?.Invoke();

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
