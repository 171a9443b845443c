using System.Collections.Concurrent;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

// The real file store, with a save that can be held mid-write (a slow disk on demand) and a record of every state saved.
internal sealed class GatedSaveStore(ISuspensionStateStore inner) : ISuspensionStateStore
{
    private TaskCompletionSource? _armed;

    /// <summary>The states written, in the order they reached the file.</summary>
    public ConcurrentQueue<SuspensionState> Saved { get; } = new();

    /// <summary>Set when the held save has started (and waits).</summary>
    public TaskCompletionSource Entered { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TaskCompletionSource? _gate;

    /// <summary>The next save waits until <see cref="Release"/>.</summary>
    public void HoldNext()
    {
        Entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _armed, _gate);
    }

    public void Release() => _gate?.TrySetResult();

    public SuspensionStateLoad Load() => inner.Load();

    public void Save(SuspensionState state)
    {
        if (Interlocked.Exchange(ref _armed, null) is { } gate)
        {
            Entered.TrySetResult();
            gate.Task.Wait(TimeSpan.FromMinutes(1));
        }

        inner.Save(state);
        Saved.Enqueue(state);
    }
}
