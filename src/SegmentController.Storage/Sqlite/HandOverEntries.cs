using System.Collections.Concurrent;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// The entries (and payload buffers) of handed-over records, kept for the next hand-overs once their batch
/// committed: a proxy hands over one record per request, and each would otherwise be two objects that live
/// for a batch window (long enough to be promoted by the collections of a busy proxy) and then die.
/// </summary>
/// <remarks>
/// Only the writer returns an entry, and only after the commit that made it durable, when no list of the
/// writer holds it any more; an entry failed or never queued is simply not returned. A payload larger than
/// <see cref="BufferBytes"/> gets an entry of its own, as does any hand-over once <see cref="MaxKept"/> are
/// kept.
/// </remarks>
internal sealed class HandOverEntries
{
    /// <summary>Payload bytes of a kept entry: an access record with its certificate fields fits.</summary>
    public const int BufferBytes = 1024;

    /// <summary>Entries kept at most (about a megabyte): twice the proxy's window of records not yet durable.</summary>
    public const int MaxKept = 1024;

    private readonly ConcurrentQueue<PendingAppend> _free = new();
    private int _kept;

    /// <summary>Entries kept for reuse, now.</summary>
    public int Kept => Volatile.Read(ref _kept);

    public PendingAppend Rent(string type, string? clients, ReadOnlySpan<byte> payload, IAppendObserver observer)
    {
        if (payload.Length > BufferBytes)
        {
            return PendingAppend.Observed(type, clients, payload.ToArray(), observer);
        }

        if (_free.TryDequeue(out var entry))
        {
            Interlocked.Decrement(ref _kept);
        }
        else
        {
            entry = PendingAppend.Reusable(BufferBytes);
        }

        entry.Fill(type, clients, payload, observer);
        return entry;
    }

    /// <summary>Keeps a committed entry for reuse (one not made by <see cref="Rent"/>, or beyond <see cref="MaxKept"/>, is left to the collector).</summary>
    public void Return(PendingAppend entry)
    {
        if (!entry.IsReusable)
        {
            return;
        }

        entry.Clear();
        if (Interlocked.Increment(ref _kept) <= MaxKept)
        {
            _free.Enqueue(entry);
        }
        else
        {
            Interlocked.Decrement(ref _kept);
        }
    }
}
