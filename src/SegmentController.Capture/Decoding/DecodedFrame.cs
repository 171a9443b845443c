namespace SegmentController.Capture.Decoding;

/// <summary>
/// What <see cref="FrameDecoder"/> found in one frame. A plain struct the caller reuses: decoding
/// allocates nothing. Offsets point into the frame that was decoded.
/// </summary>
internal struct DecodedFrame
{
    public ulong DestinationMac;
    public ulong SourceMac;

    /// <summary>VLAN ids, outer first; priority tags (VID 0) are not listed.</summary>
    public VlanTags Vlans;

    /// <summary>Number of entries used in <see cref="Vlans"/>.</summary>
    public int VlanCount;

    /// <summary>Tag headers walked, priority tags included (at most <see cref="FrameDecoder.MaxWalkedVlanTags"/>).</summary>
    public int VlanHeaders;

    /// <summary>
    /// Tag headers walked up to and including the innermost that carries a VLAN id: priority tags outside a
    /// VLAN tag count, priority tags inside the innermost one do not (once the outer tag is taken off, a priority
    /// tag means the VLAN the frame is already in, so it hops nowhere). 0 when no tag carries a VLAN id.
    /// </summary>
    public int TaggedHeaders;

    /// <summary>
    /// True when the stack held more than <see cref="FrameDecoder.MaxVlanTags"/> tag headers: only the
    /// outer ones are in <see cref="Vlans"/>.
    /// </summary>
    public bool VlanOverflow;

    /// <summary>The EtherType after the tag stack.</summary>
    public ushort EtherType;

    public NetworkLayer Layer;

    /// <summary>
    /// True once the IP addresses (and protocol) were read. They are kept when a later part of the packet
    /// does not decode, so the frame is still judged by where it went.
    /// </summary>
    public bool HasAddresses;

    public IpKey Source;
    public IpKey Destination;

    /// <summary>The transport protocol (after any IPv6 extension headers).</summary>
    public byte Protocol;

    /// <summary>True when the transport header was present and parsed (first fragment or unfragmented).</summary>
    public bool HasTransport;

    public bool IsFragment;

    public ushort SourcePort;
    public ushort DestinationPort;
    public uint TcpSequence;
    public byte TcpFlags;

    public byte IcmpType;
    public byte IcmpCode;

    /// <summary>
    /// True for an ICMPv6 neighbour solicitation: <see cref="Destination"/> is then its target address, the host it
    /// resolves (as an ARP request's), not the solicited-node group the packet is sent to.
    /// </summary>
    public bool NeighborSolicitation;

    /// <summary>Transport payload within the captured bytes.</summary>
    public int PayloadOffset;
    public int PayloadLength;

    public ushort ArpOperation;
    public ulong ArpSenderMac;
    public ulong ArpTargetMac;

    public TlsHandshake Tls;

    /// <summary>True when the payload starts with something shaped like a TLS record header.</summary>
    public bool LooksLikeTls;

    /// <summary>The hello's legacy_version field.</summary>
    public ushort TlsLegacyVersion;

    /// <summary>ServerHello: the negotiated version. ClientHello: the highest version offered.</summary>
    public ushort TlsVersion;

    /// <summary>ClientHello SNI host name (offset into the frame; length 0 when absent).</summary>
    public int SniOffset;
    public int SniLength;

    /// <summary>
    /// The tunnel this packet's payload is (<see cref="Encapsulation.None"/> when it is none): the packet it
    /// carries starts at <see cref="TunnelOffset"/> and is <see cref="TunnelLength"/> bytes long on the wire,
    /// an Ethernet frame, IPv4 or IPv6 packet as <see cref="TunnelPayload"/> says (an EtherType).
    /// <see cref="FrameDecoder.DecodeEncapsulated"/> decodes it.
    /// </summary>
    public Encapsulation Tunnel;

    public ushort TunnelPayload;
    public int TunnelOffset;
    public int TunnelLength;

    /// <summary>For an ERSPAN carrier (<see cref="Tunnel"/> is <see cref="Encapsulation.Erspan"/>): the session id (0 for type I, which has no ERSPAN header).</summary>
    public ushort ErspanSession;

    /// <summary>For an ERSPAN carrier: the VLAN the switch saw the mirrored frame on, from the ERSPAN header (0 when none is given).</summary>
    public ushort ErspanVlan;

    /// <summary>For an ERSPAN carrier: the switch cut the mirrored frame (the T bit), so its own lengths may exceed what it holds.</summary>
    public bool ErspanTruncated;

    /// <summary>
    /// True for a frame a switch of the site mirrored to the capture by ERSPAN (<see cref="FrameDecoder.DecodeMirrored"/>),
    /// and for every packet decoded out of tunnels within it: judged as if captured on the wire. Part of the flow key.
    /// </summary>
    public bool Mirrored;

    /// <summary>For a mirrored frame: the address of the switch that mirrored it (the ERSPAN carrier's source) and its session id.</summary>
    public IpKey MirrorSource;
    public ushort MirrorSession;

    /// <summary>
    /// For a packet decoded out of tunnels: the tunnels it came through, four bits each
    /// (<see cref="Encapsulation"/>), the outermost in the highest nibble used; 0 for a packet on the wire.
    /// </summary>
    public ushort TunnelPath;

    /// <summary>For a packet decoded out of tunnels: the addresses of the outermost packet, the one on the wire.</summary>
    public IpKey TunnelSource;
    public IpKey TunnelDestination;

    /// <summary>
    /// For a packet decoded out of tunnels: its source (<see cref="SourceOutsidePlan"/>) or destination
    /// (<see cref="DestinationOutsidePlan"/>) is outside the site's address plan — on the far side of a tunnel
    /// end that no subnet of the policy holds, or inside a tunnel between two hosts of one client (its own
    /// overlay). The address then names no segment of the site: the analyzer sets these (the decoder knows
    /// no policy) and they are part of the flow key.
    /// </summary>
    public bool SourceOutsidePlan;
    public bool DestinationOutsidePlan;

    /// <summary>
    /// A source route the packet has still to follow (an IPv4 loose or strict source route option, an IPv6 routing
    /// header of type 0 or 4 with segments left): where the addresses of its hops to come start in the frame
    /// (4 bytes each for IPv4, 16 for IPv6) and how many there are; 0 hops when none.
    /// </summary>
    public int RouteOffset;
    public int RouteHops;

    /// <summary>
    /// True for a packet judged as going to one of its source route's hops (<see cref="Destination"/> is that hop):
    /// <see cref="RoutedVia"/> is the header's destination, the node that sends it on. Part of the flow key.
    /// </summary>
    public bool SourceRouted;
    public IpKey RoutedVia;

    /// <summary>The innermost VLAN id, or 0 when untagged.</summary>
    public readonly int InnerVlan => VlanCount == 0 ? 0 : Vlans[VlanCount - 1];

    /// <summary>The outermost VLAN id, or 0 when untagged.</summary>
    public readonly int OuterVlan => VlanCount == 0 ? 0 : Vlans[0];
}
