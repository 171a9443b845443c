using System.Collections.Concurrent;
using System.Threading.Channels;
using SegmentController.Core.Suspension;

namespace SegmentController.Api;

/// <summary>
/// Hands the stages of a trip, as the engine completes them, to the operator who asked for it and is
/// watching its streamed answer. Best effort and bounded: the trip's completion carries every stage
/// anyway, so a stage finished before anyone watched is not lost, only not live.
/// </summary>
internal sealed class TripProgress : ISuspensionObserver
{
    private readonly ConcurrentDictionary<string, Channel<StageTiming>> _watched = new(StringComparer.Ordinal);

    /// <summary>Starts watching the suspension <paramref name="suspensionId"/>; dispose to stop.</summary>
    public Watcher Watch(string suspensionId)
    {
        ArgumentNullException.ThrowIfNull(suspensionId);
        var channel = Channel.CreateBounded<StageTiming>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        _watched[suspensionId] = channel;
        return new Watcher(this, suspensionId, channel);
    }

    public void StageCompleted(SuspensionRecord record, StageTiming timing)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_watched.TryGetValue(record.Id, out var channel))
        {
            channel.Writer.TryWrite(timing);
        }
    }

    public void Tripped(SuspensionRecord record)
    {
    }

    public void Restored(RestoreRecord record)
    {
    }

    public void StateUnreadable(string message)
    {
    }

    /// <summary>The stages of one suspension as they complete.</summary>
    internal sealed class Watcher(TripProgress owner, string suspensionId, Channel<StageTiming> channel) : IDisposable
    {
        public ChannelReader<StageTiming> Stages => channel.Reader;

        public void Dispose()
        {
            owner._watched.TryRemove(new KeyValuePair<string, Channel<StageTiming>>(suspensionId, channel));
            channel.Writer.TryComplete();
        }
    }
}
