using System.Numerics;
using System.Runtime.CompilerServices;

namespace SegmentController.Capture.Flows;

/// <summary>
/// A bounded flow table: at most <see cref="Capacity"/> flows in preallocated arrays, kept in
/// least-recently-seen order so expiry and eviction take the oldest first in O(1). Allocates nothing
/// per packet (the bucket array doubles, rarely, as the flow count grows). Not thread-safe: one
/// capture thread owns it.
/// </summary>
/// <remarks>
/// The index is open addressing with linear probing over a power-of-two bucket array at most half full;
/// each bucket packs the key's hash with its entry's slot, so most probes that miss are rejected
/// without touching the entry, and removal shifts later buckets back instead of leaving tombstones.
/// The lookup is the one thing every frame pays for: one bucket and one entry, key and state together.
/// The order is kept at <see cref="OrderGranularityTicks"/> granularity: a flow moves to the young end
/// at most once per period, not on every packet, which saves several cache misses per frame. Expiry
/// checks the real last-seen time, so a busy flow is never expired for being out of place.
/// </remarks>
internal sealed class FlowTable
{
    private FlowEntry[] _entries;
    private readonly int _maxBuckets;
    private ulong[] _buckets;
    private int _mask;
    private int[] _free;
    private int _freeCount;
    private int _used;
    private int _head = -1;
    private int _tail = -1;

    public FlowTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 28);
        Capacity = capacity;
        _entries = new FlowEntry[Math.Min(capacity, InitialEntries)];
        // The index grows with the flows actually seen (at most half full), so a capture of a few
        // thousand flows probes a bucket array that stays in cache rather than one sized for the cap.
        _maxBuckets = (int)BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
        _buckets = new ulong[Math.Min(_maxBuckets, InitialBuckets)];
        _mask = _buckets.Length - 1;
        _free = new int[_entries.Length];
    }

    public int Capacity { get; }

    private const int InitialBuckets = 1024;
    private const int InitialEntries = 512;

    /// <summary>How stale a flow's place in the order may be.</summary>
    public const long OrderGranularityTicks = TimeSpan.TicksPerSecond / 10;

    public int Count => _used - _freeCount;

    /// <summary>Flows pushed out because the table was full.</summary>
    public long Evictions { get; private set; }

    /// <summary>Flows removed after being idle.</summary>
    public long Expirations { get; private set; }

    /// <summary>
    /// The state of <paramref name="key"/>'s flow, created (zeroed, first seen now) when new; the flow
    /// becomes the most recently seen. When the table is full the oldest flow is evicted first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ref FlowState GetOrAdd(in FlowKey key, long nowTicks, out bool created)
    {
        var hash = (uint)key.GetHashCode();
        var buckets = _buckets;
        var entries = _entries;
        var i = (int)hash & _mask;
        while (true)
        {
            var bucket = buckets[i];
            if (bucket == 0)
            {
                break;
            }

            if ((uint)(bucket >> 32) == hash)
            {
                ref var entry = ref entries[(int)(uint)bucket - 1];
                if (entry.Key.Equals(key))
                {
                    created = false;
                    ref var found = ref entry.State;
                    if (nowTicks - found.OrderedTicks > OrderGranularityTicks)
                    {
                        found.OrderedTicks = nowTicks;
                        MoveToTail((int)(uint)bucket - 1);
                    }

                    return ref found;
                }
            }

            i = (i + 1) & _mask;
        }

        if (Count == Capacity)
        {
            // The removal may shift buckets back: probe for the empty bucket afresh.
            Remove(_head);
            Evictions++;
            i = (int)hash & _mask;
            while (buckets[i] != 0)
            {
                i = (i + 1) & _mask;
            }
        }

        if ((Count + 1) * 2 > buckets.Length && buckets.Length < _maxBuckets)
        {
            Grow();
            buckets = _buckets;
            i = (int)hash & _mask;
            while (buckets[i] != 0)
            {
                i = (i + 1) & _mask;
            }
        }

        var slot = _freeCount > 0 ? _free[--_freeCount] : NewSlot();
        entries = _entries;
        buckets[i] = ((ulong)hash << 32) | (uint)(slot + 1);
        ref var added = ref entries[slot];
        added.Key = key;
        added.Hash = hash;
        added.State = new FlowState { FirstTicks = nowTicks, LastTicks = nowTicks, OrderedTicks = nowTicks, Previous = -1, Next = -1, SourceClient = -1, DestinationClient = -1, MacSegment = -1 };
        Append(slot);
        created = true;
        return ref added.State;
    }

    /// <summary>Removes flows last seen before <paramref name="cutoffTicks"/>.</summary>
    public int Expire(long cutoffTicks)
    {
        var removed = 0;
        while (_head >= 0 && _entries[_head].State.OrderedTicks < cutoffTicks)
        {
            ref var oldest = ref _entries[_head].State;
            if (oldest.LastTicks >= cutoffTicks)
            {
                // Seen since it was last placed: it is not idle, only out of place.
                oldest.OrderedTicks = oldest.LastTicks;
                MoveToTail(_head);
                continue;
            }

            Remove(_head);
            removed++;
        }

        Expirations += removed;
        return removed;
    }

    public void Clear()
    {
        while (_head >= 0)
        {
            Remove(_head);
        }
    }

    /// <summary>
    /// A never-used slot. Like the buckets, the entries grow with the flows seen (doubling up to the
    /// capacity), so memory follows the traffic and not the cap.
    /// </summary>
    private int NewSlot()
    {
        if (_used == _entries.Length)
        {
            var length = Math.Min(Capacity, _entries.Length * 2);
            Array.Resize(ref _entries, length);
            Array.Resize(ref _free, length);
        }

        return _used++;
    }

    /// <summary>Doubles the bucket array and re-inserts every live flow (amortised: not per packet).</summary>
    private void Grow()
    {
        var buckets = new ulong[_buckets.Length * 2];
        var mask = buckets.Length - 1;
        for (var slot = _head; slot >= 0; slot = _entries[slot].State.Next)
        {
            var hash = _entries[slot].Hash;
            var i = (int)hash & mask;
            while (buckets[i] != 0)
            {
                i = (i + 1) & mask;
            }

            buckets[i] = ((ulong)hash << 32) | (uint)(slot + 1);
        }

        _buckets = buckets;
        _mask = mask;
    }

    private void Remove(int slot)
    {
        Unlink(slot);
        var tag = (uint)(slot + 1);
        var i = (int)_entries[slot].Hash & _mask;
        while ((uint)_buckets[i] != tag)
        {
            i = (i + 1) & _mask;
        }

        // Backward-shift deletion: move each later bucket of the run into the hole when its home
        // position does not lie cyclically between the hole and it, so no probe sequence breaks.
        var j = i;
        while (true)
        {
            j = (j + 1) & _mask;
            var bucket = _buckets[j];
            if (bucket == 0)
            {
                break;
            }

            var home = (int)(bucket >> 32) & _mask;
            var stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays)
            {
                _buckets[i] = bucket;
                i = j;
            }
        }

        _buckets[i] = 0;
        _entries[slot] = default;
        _free[_freeCount++] = slot;
    }

    private void MoveToTail(int slot)
    {
        if (slot == _tail)
        {
            return;
        }

        Unlink(slot);
        Append(slot);
    }

    private void Append(int slot)
    {
        ref var state = ref _entries[slot].State;
        state.Previous = _tail;
        state.Next = -1;
        if (_tail >= 0)
        {
            _entries[_tail].State.Next = slot;
        }
        else
        {
            _head = slot;
        }

        _tail = slot;
    }

    private void Unlink(int slot)
    {
        ref var state = ref _entries[slot].State;
        if (state.Previous >= 0)
        {
            _entries[state.Previous].State.Next = state.Next;
        }
        else
        {
            _head = state.Next;
        }

        if (state.Next >= 0)
        {
            _entries[state.Next].State.Previous = state.Previous;
        }
        else
        {
            _tail = state.Previous;
        }

        state.Previous = -1;
        state.Next = -1;
    }
}
