using System.Runtime.CompilerServices;
using SegmentController.Capture.Decoding;

namespace SegmentController.Capture.Flows;

/// <summary>
/// A unidirectional flow: the whole VLAN stack (up to <see cref="FrameDecoder.MaxVlanTags"/> tags, outer
/// first, whether it was deeper and whether priority tags made it a stack), the 5-tuple and, for a packet
/// decoded out of tunnels, the tunnels it came through (so it is never the same flow as the packet sent bare), and whether
/// a switch mirrored it by ERSPAN (so a mirrored flow keeps the mirror's evidence), and whether its destination is
/// a hop of the packet's source route rather than its header's. Packed into
/// seven 64-bit words so the flow table compares and hashes it in a handful of instructions — the lookup
/// is the one thing every frame pays for.
/// Two stacks that differ in any kept tag, middle ones included, are different flows.
/// </summary>
internal readonly struct FlowKey : IEquatable<FlowKey>
{
    private const int TagBits = 12;
    private const int TagsInFirstWord = 5;
    private const int TunnelPathMask = 0xFFF;

    /// <summary>
    /// Mirrored (1 bit), source-routed (1), layer (2), protocol (8), source port (16), destination port (16), depth (4), overflow (1), stacked (1),
    /// destination outside the plan (1), source outside the plan (1), tunnel path (12).
    /// </summary>
    private readonly ulong _meta;

    /// <summary>Tags 0–4, 12 bits each, outer first.</summary>
    private readonly ulong _tags0;

    /// <summary>Tags 5–7.</summary>
    private readonly ulong _tags1;

    /// <summary>
    /// The key of a flow; <c>vlanHeaders</c> is the count of tag headers walked up to the innermost VLAN tag,
    /// priority tags (VID 0) outside it included (<see cref="DecodedFrame.TaggedHeaders"/>; when left -1, as
    /// many as the VLAN ids given).
    /// </summary>
    public FlowKey(ReadOnlySpan<ushort> vlans, bool vlanOverflow, NetworkLayer layer, byte protocol, IpKey source, IpKey destination, ushort sourcePort, ushort destinationPort, int vlanHeaders = -1, ushort tunnelPath = 0, bool sourceOutsidePlan = false, bool destinationOutsidePlan = false, bool mirrored = false, bool sourceRouted = false)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vlans.Length, FrameDecoder.MaxVlanTags);
        ulong tags0 = 0;
        ulong tags1 = 0;
        for (var i = 0; i < vlans.Length; i++)
        {
            var tag = (ulong)(vlans[i] & 0xFFF);
            if (i < TagsInFirstWord)
            {
                tags0 |= tag << (i * TagBits);
            }
            else
            {
                tags1 |= tag << ((i - TagsInFirstWord) * TagBits);
            }
        }

        _tags0 = tags0;
        _tags1 = tags1;
        _meta = (mirrored ? 1UL << 63 : 0)
            | (sourceRouted ? 1UL << 62 : 0)
            | (((ulong)layer & 0x3) << 60)
            | ((ulong)protocol << 52)
            | ((ulong)sourcePort << 36)
            | ((ulong)destinationPort << 20)
            | ((ulong)vlans.Length << 16)
            | (vlanOverflow ? 1UL << 15 : 0)
            | (Math.Max(vlanHeaders, vlans.Length) > 1 ? 1UL << 14 : 0)
            | (destinationOutsidePlan ? 1UL << 13 : 0)
            | (sourceOutsidePlan ? 1UL << 12 : 0)
            | (tunnelPath & (ulong)TunnelPathMask);
        Source = source;
        Destination = destination;
    }

    /// <summary>Tags kept (0 when untagged).</summary>
    public byte VlanDepth => (byte)((_meta >> 16) & 0xF);

    /// <summary>True when the stack was deeper than the tags kept.</summary>
    public bool VlanOverflow => (_meta & (1UL << 15)) != 0;

    /// <summary>
    /// True when the frame carried more than one tag header up to its innermost VLAN tag, priority tags (VID 0)
    /// included: a priority tag outside a VLAN tag is a stack even though only one VLAN id is kept.
    /// </summary>
    public bool Stacked => (_meta & (1UL << 14)) != 0;

    /// <summary>The outermost VLAN id, or 0 when untagged.</summary>
    public ushort OuterVlan => VlanDepth == 0 ? (ushort)0 : Vlan(0);

    /// <summary>The innermost kept VLAN id, or 0 when untagged.</summary>
    public ushort InnerVlan => VlanDepth == 0 ? (ushort)0 : Vlan(VlanDepth - 1);

    public NetworkLayer Layer => (NetworkLayer)((_meta >> 60) & 0x3);

    /// <summary>A switch of the site mirrored the frame by ERSPAN (<see cref="DecodedFrame.Mirrored"/>).</summary>
    public bool Mirrored => (_meta & (1UL << 63)) != 0;

    /// <summary>The destination is a hop of the packet's source route, not its header's (<see cref="DecodedFrame.SourceRouted"/>).</summary>
    public bool SourceRouted => (_meta & (1UL << 62)) != 0;

    public byte Protocol => (byte)(_meta >> 52);

    public ushort SourcePort => (ushort)(_meta >> 36);

    public ushort DestinationPort => (ushort)(_meta >> 20);

    /// <summary>The tunnels the packet came through (<see cref="DecodedFrame.TunnelPath"/>); 0 for a packet on the wire.</summary>
    public ushort TunnelPath => (ushort)(_meta & TunnelPathMask);

    /// <summary>The source is outside the site's address plan (<see cref="DecodedFrame.SourceOutsidePlan"/>).</summary>
    public bool SourceOutsidePlan => (_meta & (1UL << 12)) != 0;

    /// <summary>The destination is outside the site's address plan (<see cref="DecodedFrame.DestinationOutsidePlan"/>).</summary>
    public bool DestinationOutsidePlan => (_meta & (1UL << 13)) != 0;

    public IpKey Source { get; }

    public IpKey Destination { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey From(in DecodedFrame frame) =>
        new(
            ((ReadOnlySpan<ushort>)frame.Vlans)[..frame.VlanCount],
            frame.VlanOverflow,
            frame.Layer,
            frame.Protocol,
            frame.Source,
            frame.Destination,
            frame.SourcePort,
            frame.DestinationPort,
            frame.TaggedHeaders,
            frame.TunnelPath,
            frame.SourceOutsidePlan,
            frame.DestinationOutsidePlan,
            frame.Mirrored,
            frame.SourceRouted);

    /// <summary>The kept tag at <paramref name="position"/> (0 = outermost).</summary>
    public ushort Vlan(int position) => position < TagsInFirstWord
        ? (ushort)((_tags0 >> (position * TagBits)) & 0xFFF)
        : (ushort)((_tags1 >> ((position - TagsInFirstWord) * TagBits)) & 0xFFF);

    /// <summary>The tunnels the packet came through, outermost first, as evidence names them ("gre/vxlan").</summary>
    public string TunnelList()
    {
        var names = new List<string>(FrameDecoder.MaxTunnelDepth);
        for (var shift = 4 * (FrameDecoder.MaxTunnelDepth - 1); shift >= 0; shift -= 4)
        {
            var encapsulation = (Encapsulation)((TunnelPath >> shift) & 0xF);
            if (encapsulation != Encapsulation.None)
            {
                names.Add(IpProtocols.Name(encapsulation));
            }
        }

        return string.Join('/', names);
    }

    /// <summary>The VLAN ids outer → inner as evidence shows them (every kept tag).</summary>
    public int[] VlanList()
    {
        var list = new int[VlanDepth];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = Vlan(i);
        }

        return list;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowKey other) =>
        _meta == other._meta
        && _tags0 == other._tags0
        && Source.Lo == other.Source.Lo
        && Destination.Lo == other.Destination.Lo
        && Source.Hi == other.Source.Hi
        && Destination.Hi == other.Destination.Hi
        && _tags1 == other._tags1;

    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override int GetHashCode()
    {
        // A multiply-xorshift mix: cheap, and spreads sequential addresses, ports and tags well.
        var h = (_meta ^ Source.Lo) * 0x9E3779B97F4A7C15UL;
        h = (h ^ Destination.Lo ^ _tags0) * 0xC2B2AE3D27D4EB4FUL;
        h = (h ^ Source.Hi ^ (Destination.Hi << 1) ^ (_tags1 << 3)) * 0x165667B19E3779F9UL;
        return (int)(h ^ (h >> 32));
    }

    public static bool operator ==(FlowKey left, FlowKey right) => left.Equals(right);

    public static bool operator !=(FlowKey left, FlowKey right) => !left.Equals(right);
}
