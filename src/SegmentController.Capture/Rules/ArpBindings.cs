using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SegmentController.Capture.Decoding;

namespace SegmentController.Capture.Rules;

/// <summary>
/// The IPv4 → MAC bindings ARP claims have shown, per VLAN, against which a later claim is judged
/// (<c>arp-spoofing</c>). Bounded without letting a flood of claims flush the bindings that matter, and
/// without letting one VLAN's claims take the room another VLAN's claims need:
/// <list type="bullet">
/// <item>The capacity is split into shares. Each VLAN a client segment of the policy names has a share of
/// its own, sized by the IPv4 addresses its segments' subnets hold (<see cref="Configure(IEnumerable{ValueTuple{int, long}}, int)"/>);
/// every other VLAN (untagged, infrastructure, VLANs the policy
/// does not name) draws on the shared remainder, the rest of the capacity. A claim is counted in the share
/// of the outermost tag of its frame that a client segment names (the tag an access switch put on; an inner
/// tag is the sender's own choice), else in the remainder. A share never grows past its size, so a flood in
/// one VLAN fills only that VLAN's share (or the remainder) and every other share keeps its room.</item>
/// <item>Within a full share, a binding for an address the policy does not name (no client or
/// infrastructure subnet holds it) makes room for a new one, oldest first.</item>
/// <item>A binding for an address the policy names is never pushed out by newer claims; only one not
/// claimed again for <see cref="IdleTicks"/> makes room, and only once no binding of the first kind is
/// left in its share. A flood of claims therefore cannot clear the binding of a client's live host and let a
/// spoofer claim its address unopposed.</item>
/// <item>When nothing in the share can make room, the new claim is not remembered (<see cref="TryBind"/>
/// returns false; the analyzer counts it and reports degraded capture for that share alone): an address
/// never seen before is a first claim either way, and what was bound stays bound.</item>
/// </list>
/// Policy reload (<see cref="Configure(IEnumerable{ValueTuple{int, long}}, int)"/>) sizes the shares anew; bindings already held are not moved. A
/// binding stays counted in the share it was made in and keeps being checked, whatever its VLAN has become;
/// a VLAN that became a client's starts an empty share of its own (its older bindings stay in the
/// remainder), and a share that is now larger than its size (its VLAN left the policy, or more VLANs now
/// share the capacity) gives its excess back as other shares claim their room: bindings of unnamed addresses
/// first, then idle ones, then the oldest. A live binding of an address the policy names given back that way
/// is reported (<see cref="LiveBindingDropped"/>): until its host claims the address again, a different MAC
/// claiming it would be bound fresh, unopposed, so verification of that share is lost for a while.
/// A reload may change the capacity too: a larger one applies at once; a smaller one sizes the shares
/// against it, and the bindings held beyond it are given back as new claims need room, the same way.
/// Memory is at most as many bindings as the largest <see cref="Capacity"/> the table has had, plus one small record per possible VLAN id
/// (<see cref="VlanIds"/>: a tag holds 12 bits, so no frame names more); a claim costs O(1) and allocates
/// nothing once the table has grown. Owned by the capture thread.
/// </summary>
internal sealed class ArpBindings
{
    /// <summary>The share every VLAN without a share of its own draws on (VLAN 0, untagged, is never a client's).</summary>
    public const int SharedRemainder = 0;

    /// <summary>VLAN ids a tag can hold (12 bits): the bound of the share table.</summary>
    public const int VlanIds = 4096;

    /// <summary>Policy-named bindings examined for age per claim that needs room, so a claim costs O(1).</summary>
    private const int AgeScanPerClaim = 8;

    private const int None = -1;

    private readonly Dictionary<(int Vlan, uint Address), int> _slots = [];
    private readonly Share[] _shares = new Share[VlanIds];
    private readonly bool[] _ownShare = new bool[VlanIds];
    private Entry[] _entries = [];
    private int _entriesUsed;
    private int _free = None;
    private int[] _overSize = [];
    private int _overSizeNext;

    public ArpBindings(int capacity, TimeSpan idle)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idle, TimeSpan.Zero);
        Capacity = capacity;
        IdleTicks = idle.Ticks;
        for (var i = 0; i < _shares.Length; i++)
        {
            _shares[i] = new Share { UnnamedHead = None, UnnamedTail = None, NamedHead = None, NamedTail = None };
        }

        Configure(Array.Empty<int>());
    }

    public int Capacity { get; private set; }

    /// <summary>
    /// Called on the capture thread when a binding of an address the policy names, claimed again within
    /// <see cref="IdleTicks"/>, is given up to make room (a share over its size after a reload): with the
    /// share it was counted in — or <see cref="SharedRemainder"/> when its VLAN no longer has a share of its
    /// own — and its VLAN. Must not change the table.
    /// </summary>
    public Action<int, int>? LiveBindingDropped { get; set; }

    /// <summary>How long a policy-named binding must go unclaimed before it may make room.</summary>
    public long IdleTicks { get; }

    public int Count => _slots.Count;

    /// <summary>Bindings dropped to make room.</summary>
    public long Evicted { get; private set; }

    /// <summary>The mean size of the client VLANs' own shares under the current policy.</summary>
    public int VlanShareSize { get; private set; }

    /// <summary>Bindings counted in <paramref name="share"/> (a client VLAN id, or <see cref="SharedRemainder"/>).</summary>
    public int CountIn(int share) => _shares[share].Count;

    /// <summary>The size of <paramref name="share"/> under the current policy (0 for a VLAN without a share of its own).</summary>
    public int SizeOf(int share) => _shares[share].Size;

    /// <summary>
    /// Sizes the shares for the VLANs client segments of the policy name (<paramref name="clientVlans"/>;
    /// ids outside 1–4095 are ignored), each as if its subnets held the same number of addresses.
    /// </summary>
    public void Configure(IEnumerable<int> clientVlans)
    {
        ArgumentNullException.ThrowIfNull(clientVlans);
        Configure(clientVlans.Select(static vlan => (vlan, 1L)), Capacity);
    }

    /// <summary>Sizes the shares as <see cref="Configure(IEnumerable{ValueTuple{int, long}}, int)"/> does, keeping the capacity.</summary>
    public void Configure(IEnumerable<(int Vlan, long Addresses)> clientVlans) => Configure(clientVlans, Capacity);

    /// <summary>
    /// Sizes the shares for the VLANs client segments of the policy name, each with the number of IPv4
    /// addresses its segments' subnets hold (<paramref name="clientVlans"/>; ids outside 1–4095 are
    /// ignored, a VLAN listed twice adds up). The shared remainder keeps at least
    /// <c>capacity / (client VLANs + 1)</c>; the rest is split among the client VLANs max-min fairly: each
    /// VLAN whose addresses need no more than an even split of what is left gets all they need, the VLANs
    /// needing more share what remains evenly, and room no VLAN needs is split evenly among them all. A VLAN
    /// of a /16 beside a few /24s then has room for most of its hosts, where an even split would give it no
    /// more than each /24, and a VLAN of a /24 keeps room for all of its hosts whatever the /16 holds.
    /// Bindings held are not moved: a share now larger than its size gives its excess back as other shares
    /// need it. <paramref name="capacity"/> replaces <see cref="Capacity"/>: bindings held beyond a smaller
    /// one are given back as new claims are remembered, one more per claim, until the table fits it.
    /// </summary>
    public void Configure(IEnumerable<(int Vlan, long Addresses)> clientVlans, int capacity)
    {
        ArgumentNullException.ThrowIfNull(clientVlans);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        Array.Clear(_ownShare);
        var need = new long[VlanIds];
        var count = 0;
        foreach (var (vlan, addresses) in clientVlans)
        {
            if (vlan is not (> SharedRemainder and < VlanIds))
            {
                continue;
            }

            if (!_ownShare[vlan])
            {
                _ownShare[vlan] = true;
                count++;
            }

            need[vlan] = Math.Min(need[vlan] + Math.Max(addresses, 0), Capacity);
        }

        // Max-min fair: the VLANs needing least are given all they need first while that is no more than
        // an even split of what is left, and the biggest share what remains; room nobody needs is then
        // split evenly among them.
        var sizes = new int[VlanIds];
        var available = Capacity - (Capacity / (count + 1));
        var order = new List<(long Need, int Vlan)>(count);
        for (var vlan = 1; vlan < VlanIds; vlan++)
        {
            if (_ownShare[vlan])
            {
                order.Add((Math.Max(need[vlan], 1), vlan));
            }
        }

        order.Sort();
        var left = (long)available;
        for (var i = 0; i < order.Count; i++)
        {
            var give = Math.Min(order[i].Need, left / (order.Count - i));
            sizes[order[i].Vlan] = (int)give;
            left -= give;
        }

        var given = 0L;
        foreach (var (_, vlan) in order)
        {
            sizes[vlan] += (int)(left / order.Count);
            given += sizes[vlan];
        }

        sizes[SharedRemainder] = (int)(Capacity - given);
        VlanShareSize = count == 0 ? 0 : (int)(given / count);
        var overSize = new List<int>();
        for (var share = 0; share < _shares.Length; share++)
        {
            ref var s = ref _shares[share];
            s.Size = sizes[share];
            if (s.Count > s.Size)
            {
                overSize.Add(share);
            }
        }

        _overSize = [.. overSize];
        _overSizeNext = 0;
    }

    /// <summary>True when <paramref name="vlan"/> has a share of its own under the current policy.</summary>
    public bool HasOwnShare(int vlan) => (uint)vlan < VlanIds && vlan != SharedRemainder && _ownShare[vlan];

    /// <summary>
    /// The share a claim in <paramref name="frame"/> counts in: the outermost VLAN tag a client segment
    /// names, else the shared remainder. With <paramref name="outerTagOnly"/> (the outer tag names the
    /// segment, and the tags inside it are the sender's own) only the outermost tag is looked at.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ShareOf(in DecodedFrame frame, bool outerTagOnly = false)
    {
        var tags = outerTagOnly ? Math.Min(frame.VlanCount, 1) : frame.VlanCount;
        for (var i = 0; i < tags; i++)
        {
            int vlan = frame.Vlans[i];
            if (_ownShare[vlan])
            {
                return vlan;
            }
        }

        return SharedRemainder;
    }

    /// <summary>
    /// Judges a claim of <paramref name="address"/> by <paramref name="mac"/> against what is bound:
    /// true when another MAC holds it. A claim that agrees refreshes the binding. <paramref name="known"/>
    /// is false when nothing is bound for the address yet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Conflicts(int vlan, uint address, ulong mac, long nowTicks, out bool known)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_slots, (vlan, address));
        known = !Unsafe.IsNullRef(ref slot);
        if (!known)
        {
            return false;
        }

        ref var entry = ref _entries[slot];
        if (entry.Mac != mac)
        {
            return true;
        }

        entry.LastTicks = nowTicks;
        return false;
    }

    /// <summary>
    /// Remembers a first claim, counted in <paramref name="share"/> (<see cref="ShareOf"/>).
    /// <paramref name="named"/>: the policy names the address. False when the share is full and nothing in
    /// it may make room.
    /// </summary>
    public bool TryBind(int vlan, uint address, ulong mac, bool named, int share, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)share, (uint)VlanIds, nameof(share));
        if (_shares[share].Count >= _shares[share].Size)
        {
            if (!MakeRoom(share, nowTicks, force: false))
            {
                return false;
            }
        }
        else if (_slots.Count >= Capacity && !ReclaimExcess(nowTicks))
        {
            // The sizes add up to the capacity, so a full table with room left in this share means another
            // share holds more than its size; should none be found, the claim is refused, not squeezed in.
            return false;
        }

        if (_slots.Count >= Capacity)
        {
            // A reload lowered the capacity below what the table holds: each claim remembered gives back one
            // binding more, so the table comes down to the new capacity instead of staying above it.
            ReclaimExcess(nowTicks);
        }

        var slot = TakeSlot();
        _entries[slot] = new Entry { Vlan = vlan, Address = address, Mac = mac, LastTicks = nowTicks, Share = share, Named = named };
        _slots.Add((vlan, address), slot);
        ref var s = ref _shares[share];
        s.Count++;
        if (named)
        {
            Append(ref s.NamedHead, ref s.NamedTail, slot);
        }
        else
        {
            Append(ref s.UnnamedHead, ref s.UnnamedTail, slot);
        }

        return true;
    }

    /// <summary>
    /// Drops one binding of <paramref name="share"/>: its oldest unnamed one, else a named one idle long
    /// enough; with <paramref name="force"/>, else its oldest named one.
    /// </summary>
    private bool MakeRoom(int share, long nowTicks, bool force)
    {
        ref var s = ref _shares[share];
        if (s.UnnamedHead != None)
        {
            Drop(s.UnnamedHead);
            return true;
        }

        // Round-robin over the named bindings (each is looked at again only after every other one), so a
        // binding refreshed since its last look goes to the back and an idle one is found in turn.
        var cutoff = nowTicks - IdleTicks;
        for (var i = Math.Min(AgeScanPerClaim, s.Count); i > 0; i--)
        {
            var slot = s.NamedHead;
            if (_entries[slot].LastTicks < cutoff)
            {
                Drop(slot);
                return true;
            }

            Unlink(ref s.NamedHead, ref s.NamedTail, slot);
            Append(ref s.NamedHead, ref s.NamedTail, slot);
        }

        if (force && s.NamedHead != None)
        {
            ref var entry = ref _entries[s.NamedHead];
            var live = entry.LastTicks >= cutoff;
            var vlan = entry.Vlan;
            Drop(s.NamedHead);
            if (live)
            {
                LiveBindingDropped?.Invoke(HasOwnShare(share) ? share : SharedRemainder, vlan);
            }

            return true;
        }

        return false;
    }

    /// <summary>Takes one binding from a share holding more than its size (after a reload shrank it).</summary>
    private bool ReclaimExcess(long nowTicks)
    {
        while (_overSizeNext < _overSize.Length)
        {
            var share = _overSize[_overSizeNext];
            if (_shares[share].Count > _shares[share].Size)
            {
                return MakeRoom(share, nowTicks, force: true);
            }

            _overSizeNext++;
        }

        return false;
    }

    private void Drop(int slot)
    {
        ref var entry = ref _entries[slot];
        ref var s = ref _shares[entry.Share];
        if (entry.Named)
        {
            Unlink(ref s.NamedHead, ref s.NamedTail, slot);
        }
        else
        {
            Unlink(ref s.UnnamedHead, ref s.UnnamedTail, slot);
        }

        s.Count--;
        _slots.Remove((entry.Vlan, entry.Address));
        entry.Next = _free;
        _free = slot;
        Evicted++;
    }

    private int TakeSlot()
    {
        if (_free != None)
        {
            var slot = _free;
            _free = _entries[slot].Next;
            return slot;
        }

        if (_entriesUsed == _entries.Length)
        {
            // Grows with the claims seen, up to the capacity: memory follows the site, not the bound.
            // After a reload lowered the capacity the array may be longer than it, and is never cut.
            Array.Resize(ref _entries, Math.Max(_entries.Length + 1, Math.Min(Capacity, Math.Max(16, _entries.Length * 2))));
        }

        return _entriesUsed++;
    }

    private void Append(ref int head, ref int tail, int slot)
    {
        ref var entry = ref _entries[slot];
        entry.Prev = tail;
        entry.Next = None;
        if (tail == None)
        {
            head = slot;
        }
        else
        {
            _entries[tail].Next = slot;
        }

        tail = slot;
    }

    private void Unlink(ref int head, ref int tail, int slot)
    {
        ref var entry = ref _entries[slot];
        if (entry.Prev == None)
        {
            head = entry.Next;
        }
        else
        {
            _entries[entry.Prev].Next = entry.Next;
        }

        if (entry.Next == None)
        {
            tail = entry.Prev;
        }
        else
        {
            _entries[entry.Next].Prev = entry.Prev;
        }
    }

    private struct Entry
    {
        public ulong Mac;
        public long LastTicks;
        public uint Address;
        public int Vlan;
        public int Share;
        public int Prev;
        public int Next;
        public bool Named;
    }

    /// <summary>One share: its size under the current policy, what it holds, and its two lists oldest first.</summary>
    private struct Share
    {
        public int Size;
        public int Count;
        public int UnnamedHead;
        public int UnnamedTail;
        public int NamedHead;
        public int NamedTail;
    }
}
