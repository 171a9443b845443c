using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SegmentController.Capture.Rules;

/// <summary>
/// The IPv4 → MAC bindings ARP claims have shown, per VLAN, against which a later claim is judged
/// (<c>arp-spoofing</c>). Bounded without letting a flood of claims flush the bindings that matter:
/// <list type="bullet">
/// <item>A binding for an address the policy does not name (no client or infrastructure subnet holds
/// it) makes room for a new one, oldest first.</item>
/// <item>A binding for an address the policy names is never pushed out by newer claims; only one not
/// claimed again for <see cref="IdleTicks"/> makes room, and only once no binding of the first kind is
/// left. A flood of claims therefore cannot clear the binding of a client's live host and let a spoofer
/// claim its address unopposed.</item>
/// <item>When nothing can make room, the new claim is not remembered (<see cref="TryBind"/> returns
/// false; the analyzer counts it and reports degraded capture): an address never seen before is a first
/// claim either way, and what was bound stays bound.</item>
/// </list>
/// Memory is <see cref="Capacity"/> entries at most. Whether the policy names an address is settled when
/// its binding is made; a policy reload does not move bindings between the two kinds. Owned by the
/// capture thread.
/// </summary>
internal sealed class ArpBindings
{
    /// <summary>Policy-named bindings examined for age per claim that needs room, so a claim costs O(1).</summary>
    private const int AgeScanPerClaim = 8;

    private readonly Dictionary<(int Vlan, uint Address), Binding> _bindings = [];
    private readonly Queue<(int Vlan, uint Address)> _unnamed = new();
    private readonly Queue<(int Vlan, uint Address)> _named = new();

    public ArpBindings(int capacity, TimeSpan idle)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idle, TimeSpan.Zero);
        Capacity = capacity;
        IdleTicks = idle.Ticks;
    }

    public int Capacity { get; }

    /// <summary>How long a policy-named binding must go unclaimed before it may make room.</summary>
    public long IdleTicks { get; }

    public int Count => _bindings.Count;

    /// <summary>Bindings dropped to make room.</summary>
    public long Evicted { get; private set; }

    /// <summary>
    /// Judges a claim of <paramref name="address"/> by <paramref name="mac"/> against what is bound:
    /// true when another MAC holds it. A claim that agrees refreshes the binding. <paramref name="known"/>
    /// is false when nothing is bound for the address yet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Conflicts(int vlan, uint address, ulong mac, long nowTicks, out bool known)
    {
        ref var binding = ref CollectionsMarshal.GetValueRefOrNullRef(_bindings, (vlan, address));
        known = !Unsafe.IsNullRef(ref binding);
        if (!known)
        {
            return false;
        }

        if (binding.Mac != mac)
        {
            return true;
        }

        binding.LastTicks = nowTicks;
        return false;
    }

    /// <summary>
    /// Remembers a first claim. <paramref name="named"/>: the policy names the address. False when the
    /// table is full and nothing may make room.
    /// </summary>
    public bool TryBind(int vlan, uint address, ulong mac, bool named, long nowTicks)
    {
        if (_bindings.Count >= Capacity && !MakeRoom(nowTicks))
        {
            return false;
        }

        var key = (vlan, address);
        _bindings.Add(key, new Binding { Mac = mac, LastTicks = nowTicks });
        (named ? _named : _unnamed).Enqueue(key);
        return true;
    }

    private bool MakeRoom(long nowTicks)
    {
        if (_unnamed.TryDequeue(out var oldest))
        {
            _bindings.Remove(oldest);
            Evicted++;
            return true;
        }

        // Round-robin over the named bindings (each is looked at again only after every other one), so a
        // binding refreshed since its last look goes to the back and an idle one is found in turn.
        var cutoff = nowTicks - IdleTicks;
        for (var i = Math.Min(AgeScanPerClaim, _named.Count); i > 0; i--)
        {
            var key = _named.Dequeue();
            if (_bindings[key].LastTicks < cutoff)
            {
                _bindings.Remove(key);
                Evicted++;
                return true;
            }

            _named.Enqueue(key);
        }

        return false;
    }

    private struct Binding
    {
        public ulong Mac;
        public long LastTicks;
    }
}
