using System.Runtime.CompilerServices;
using SegmentController.Capture.Decoding;

namespace SegmentController.Capture.Flows;

/// <summary>
/// A unidirectional flow: the VLAN stack (outer and inner id and the depth) and the 5-tuple. Packed
/// into five 64-bit words so the flow table compares and hashes it in a handful of instructions — the
/// lookup is the one thing every frame pays for.
/// </summary>
internal readonly struct FlowKey : IEquatable<FlowKey>
{
    private readonly ulong _meta;

    public FlowKey(ushort outerVlan, ushort innerVlan, byte vlanDepth, NetworkLayer layer, byte protocol, IpKey source, IpKey destination, ushort sourcePort, ushort destinationPort)
    {
        _meta = ((ulong)(outerVlan & 0xFFF) << 52)
            | ((ulong)(innerVlan & 0xFFF) << 40)
            | ((ulong)vlanDepth << 32)
            | ((ulong)layer << 28)
            | ((ulong)protocol << 20)
            | ((ulong)sourcePort << 4);
        DestinationPort = destinationPort;
        Source = source;
        Destination = destination;
    }

    public ushort OuterVlan => (ushort)((_meta >> 52) & 0xFFF);

    public ushort InnerVlan => (ushort)((_meta >> 40) & 0xFFF);

    public byte VlanDepth => (byte)(_meta >> 32);

    public NetworkLayer Layer => (NetworkLayer)((_meta >> 28) & 0xF);

    public byte Protocol => (byte)(_meta >> 20);

    public ushort SourcePort => (ushort)(_meta >> 4);

    public ushort DestinationPort { get; }

    public IpKey Source { get; }

    public IpKey Destination { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey From(in DecodedFrame frame) =>
        new(
            (ushort)frame.OuterVlan,
            (ushort)frame.InnerVlan,
            (byte)frame.VlanCount,
            frame.Layer,
            frame.Protocol,
            frame.Source,
            frame.Destination,
            frame.SourcePort,
            frame.DestinationPort);

    /// <summary>The VLAN ids outer → inner as evidence shows them (middle tags of deep stacks are not kept).</summary>
    public int[] VlanList() => VlanDepth switch
    {
        0 => [],
        1 => [OuterVlan],
        _ => [OuterVlan, InnerVlan],
    };

    public FlowKey WithVlans(ushort outerVlan, byte depth) =>
        new(outerVlan, InnerVlan, depth, Layer, Protocol, Source, Destination, SourcePort, DestinationPort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowKey other) =>
        _meta == other._meta
        && DestinationPort == other.DestinationPort
        && Source.Lo == other.Source.Lo
        && Destination.Lo == other.Destination.Lo
        && Source.Hi == other.Source.Hi
        && Destination.Hi == other.Destination.Hi;

    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override int GetHashCode()
    {
        // A multiply-xorshift mix: cheap, and spreads sequential addresses and ports well.
        var h = _meta ^ ((ulong)DestinationPort << 48);
        h = (h ^ Source.Lo) * 0x9E3779B97F4A7C15UL;
        h = (h ^ Destination.Lo) * 0xC2B2AE3D27D4EB4FUL;
        h = (h ^ Source.Hi ^ (Destination.Hi << 1)) * 0x165667B19E3779F9UL;
        return (int)(h ^ (h >> 32));
    }

    public static bool operator ==(FlowKey left, FlowKey right) => left.Equals(right);

    public static bool operator !=(FlowKey left, FlowKey right) => !left.Equals(right);
}
