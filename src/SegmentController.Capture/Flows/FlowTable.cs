namespace SegmentController.Capture.Flows;

/// <summary>
/// A bounded flow table: at most <see cref="Capacity"/> flows in preallocated arrays, kept in
/// least-recently-seen order so expiry and eviction take the oldest first in O(1). Allocates nothing
/// per packet once warm. Not thread-safe: one capture thread owns it.
/// </summary>
/// <remarks>
/// The order is kept at <see cref="OrderGranularityTicks"/> granularity: a flow moves to the young end
/// at most once per period, not on every packet, which saves several cache misses per frame. Expiry
/// checks the real last-seen time, so a busy flow is never expired for being out of place.
/// </remarks>
internal sealed class FlowTable
{
    private readonly Dictionary<FlowKey, int> _slots;
    private readonly FlowKey[] _keys;
    private readonly FlowState[] _states;
    private readonly int[] _free;
    private int _freeCount;
    private int _head = -1;
    private int _tail = -1;

    public FlowTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _slots = new Dictionary<FlowKey, int>(capacity);
        _keys = new FlowKey[capacity];
        _states = new FlowState[capacity];
        _free = new int[capacity];
        for (var i = 0; i < capacity; i++)
        {
            _free[i] = capacity - 1 - i;
        }

        _freeCount = capacity;
    }

    public int Capacity { get; }

    /// <summary>How stale a flow's place in the order may be.</summary>
    public const long OrderGranularityTicks = TimeSpan.TicksPerSecond / 10;

    public int Count => _slots.Count;

    /// <summary>Flows pushed out because the table was full.</summary>
    public long Evictions { get; private set; }

    /// <summary>Flows removed after being idle.</summary>
    public long Expirations { get; private set; }

    /// <summary>
    /// The state of <paramref name="key"/>'s flow, created (zeroed, first seen now) when new; the flow
    /// becomes the most recently seen. When the table is full the oldest flow is evicted first.
    /// </summary>
    public ref FlowState GetOrAdd(in FlowKey key, long nowTicks, out bool created)
    {
        if (_slots.TryGetValue(key, out var slot))
        {
            created = false;
            ref var found = ref _states[slot];
            if (nowTicks - found.OrderedTicks > OrderGranularityTicks)
            {
                found.OrderedTicks = nowTicks;
                MoveToTail(slot);
            }

            return ref found;
        }

        if (_freeCount == 0)
        {
            Remove(_head);
            Evictions++;
        }

        slot = _free[--_freeCount];
        _slots.Add(key, slot);
        _keys[slot] = key;
        _states[slot] = new FlowState { FirstTicks = nowTicks, LastTicks = nowTicks, OrderedTicks = nowTicks, Previous = -1, Next = -1, SourceClient = -1, DestinationClient = -1, MacSegment = -1 };
        Append(slot);
        created = true;
        return ref _states[slot];
    }

    /// <summary>Removes flows last seen before <paramref name="cutoffTicks"/>.</summary>
    public int Expire(long cutoffTicks)
    {
        var removed = 0;
        while (_head >= 0 && _states[_head].OrderedTicks < cutoffTicks)
        {
            ref var oldest = ref _states[_head];
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

    private void Remove(int slot)
    {
        Unlink(slot);
        _slots.Remove(_keys[slot]);
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
        ref var state = ref _states[slot];
        state.Previous = _tail;
        state.Next = -1;
        if (_tail >= 0)
        {
            _states[_tail].Next = slot;
        }
        else
        {
            _head = slot;
        }

        _tail = slot;
    }

    private void Unlink(int slot)
    {
        ref var state = ref _states[slot];
        if (state.Previous >= 0)
        {
            _states[state.Previous].Next = state.Next;
        }
        else
        {
            _head = state.Next;
        }

        if (state.Next >= 0)
        {
            _states[state.Next].Previous = state.Previous;
        }
        else
        {
            _tail = state.Previous;
        }

        state.Previous = -1;
        state.Next = -1;
    }
}
