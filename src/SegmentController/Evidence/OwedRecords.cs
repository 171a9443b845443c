using System.Threading.Channels;

namespace SegmentController.Evidence;

/// <summary>
/// Records the controller owes the chain about itself — the policy load at start when the store refused
/// it, every reload applied or rejected — appended in order by <see cref="StoreMaintenanceService"/> and
/// retried until the store takes them: a store that was unwritable at start gets its policy load once it
/// recovers, and meanwhile the proxy stays closed (the store's health says unwritable).
/// </summary>
internal sealed class OwedRecords
{
    private readonly Channel<OwedRecord> _queue = Channel.CreateUnbounded<OwedRecord>(new UnboundedChannelOptions { SingleReader = true });

    public ChannelReader<OwedRecord> Reader => _queue.Reader;

    public void Add(OwedRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _queue.Writer.TryWrite(record);
    }
}
