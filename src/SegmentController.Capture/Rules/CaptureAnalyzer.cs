using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Flows;
using SegmentController.Capture.Sources;

namespace SegmentController.Capture.Rules;

/// <summary>
/// Judges every frame of one capture against the policy: decode, classify the flow once, apply the
/// capture rules, count. <see cref="ProcessFrame"/> runs on the capture thread and allocates nothing
/// for a frame of a known flow once its evidence is kept; findings are read from other threads.
/// </summary>
/// <remarks>
/// Everything that grows is bounded: flows (<see cref="FlowTable"/>), violations (forgotten once
/// published, written and idle; aggregated per rule beyond the cap — never dropped), evidence bytes
/// (freed once written), degraded episodes, ARP bindings and server names.
/// </remarks>
internal sealed partial class CaptureAnalyzer : IFrameSink
{
    private readonly CaptureAnalyzerOptions _options;
    private readonly FlowTable _flows;
    private readonly Dictionary<(CaptureRules, FlowKey), Violation> _violations = [];
    private readonly List<Violation> _unreported = [];
    private readonly Queue<Violation> _evidencePending = new();
    private readonly Violation?[] _aggregates = new Violation?[32];
    private readonly Lock _reportLock = new();
    private readonly ArpBindings _arpBindings;
    private readonly Dictionary<string, int> _clientSlots = new(StringComparer.Ordinal);
    private long[] _clientPackets = new long[16];
    private int[] _clientSlotOfIndex = [];
    private PolicyIndex _index;
    private PolicyIndex? _pendingIndex;
    private int _generation = 1;
    private long _evidenceBytes;
    private long _lastFrameTicks;
    private long _lastExpiryTicks;
    private long _suppressed;
    private long _lastId;
    private bool _anyPublished;

    public CaptureAnalyzer(PolicyIndex index, string interfaceName, CaptureAnalyzerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(interfaceName);
        _options = options ?? new CaptureAnalyzerOptions();
        _flows = new FlowTable(_options.FlowCapacity);
        _arpBindings = new ArpBindings(ArpBindingCapacityFor(index), _options.ArpBindingIdleTimeout)
        {
            LiveBindingDropped = NoteArpBindingLost,
        };
        InterfaceName = interfaceName;
        _index = index;
        MapClients(index);
        _arpBindings.Configure(ClientVlans(index));
    }

    public string InterfaceName { get; }

    /// <summary>
    /// Called on the capture thread when a new finding awaits <see cref="TakeNewFindings"/>, so a
    /// publisher can take it at once instead of on its next tick. Must return quickly.
    /// </summary>
    public Action? ViolationRecorded { get; set; }

    public long Packets { get; private set; }

    public long Bytes { get; private set; }

    public long DecodeErrors { get; private set; }

    /// <summary>Decode errors by kind (index = <see cref="DecodeError"/>).</summary>
    public long[] DecodeErrorsByKind { get; } = new long[Enum.GetValues<DecodeError>().Length];

    /// <summary>
    /// Violating flows (one per rule) folded into a per-rule aggregate because
    /// <see cref="CaptureAnalyzerOptions.MaxViolations"/> violations were tracked already. They are
    /// reported through the aggregate, not lost; this says how much individual detail was not kept.
    /// </summary>
    public long SuppressedViolations => Volatile.Read(ref _suppressed);

    /// <summary>Evidence bytes held in memory now (frames not yet written out).</summary>
    public long EvidenceBytes => Volatile.Read(ref _evidenceBytes);

    public FlowTable Flows => _flows;

    public PolicyIndex Index => _index;

    /// <summary>
    /// Puts a new policy index in force. Safe from any thread: the capture thread picks it up before
    /// its next frame, and every flow is classified again under it.
    /// </summary>
    public void UpdatePolicy(PolicyIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        Volatile.Write(ref _pendingIndex, index);
    }

    /// <summary>Frames per client id so far.</summary>
    public IReadOnlyDictionary<string, long> ClientPackets()
    {
        var counts = Volatile.Read(ref _clientPackets);
        lock (_reportLock)
        {
            return _clientSlots.ToDictionary(p => p.Key, p => p.Value < counts.Length ? Volatile.Read(ref counts[p.Value]) : 0, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// When this analyzer started, UTC ticks (silence before the first frame counts from here); when
    /// left 0, from the first idle report.
    /// </summary>
    public long StartedTicks { get; set; }

    void IFrameSink.OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) =>
        ProcessFrame(frame, wireLength, timestampTicks);

    void IFrameSink.OnIdle(long nowTicks)
    {
        CheckSilence(nowTicks, StartedTicks);
        if (nowTicks - _lastExpiryTicks > TimeSpan.TicksPerSecond)
        {
            _lastExpiryTicks = nowTicks;
            SweepViolations(nowTicks);
            EndQuietArpOverflow(nowTicks);
        }
    }

    void IFrameSink.OnSourceOpened(long nowTicks) => BeginSource();

    void IFrameSink.OnStatistics(CaptureStatistics statistics, long nowTicks) => ReportStatistics(statistics, nowTicks);

    /// <summary>Judges one frame. <paramref name="frame"/> is only read during the call.</summary>
    /// <remarks>
    /// The per-frame path (this, the decoder, the flow table, the file walkers) is compiled fully
    /// optimized at first call: an offline analysis of a few million frames is over in well under a
    /// second, before tiered compilation would have promoted it from unoptimized code.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ProcessFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks)
    {
        var pending = Volatile.Read(ref _pendingIndex);
        if (pending is not null)
        {
            ApplyPolicy(pending);
        }

        Packets++;
        Bytes += wireLength;
        if (_silent)
        {
            EndSilence(timestampTicks);
        }

        _lastFrameTicks = timestampTicks;
        if (timestampTicks - _lastExpiryTicks > TimeSpan.TicksPerSecond)
        {
            _lastExpiryTicks = timestampTicks;
            _flows.Expire(timestampTicks - _options.FlowIdleTimeout.Ticks);
            SweepViolations(timestampTicks);
            EndQuietArpOverflow(timestampTicks);
        }

        var decoded = default(DecodedFrame);
        var error = FrameDecoder.Decode(frame, wireLength, ref decoded);
        if (error != DecodeError.None)
        {
            CountDecodeError(error);

            // A packet that does not add up past its addresses (a cut or lying length, an extension
            // chain too long to follow, a malformed transport header) still crossed the wire from its
            // source to its destination: it is judged by them, as a flow without ports.
            if (!decoded.HasAddresses)
            {
                return;
            }
        }

        Judge(in decoded, frame, wireLength, timestampTicks, countClients: true);
        if (decoded.Tunnel == Encapsulation.Erspan && IsMirror(in decoded))
        {
            JudgeMirrored(in decoded, frame, timestampTicks);
        }
        else if (decoded.Tunnel != Encapsulation.None)
        {
            JudgeEncapsulated(in decoded, frame, wireLength, timestampTicks);
        }
    }

    private void CountDecodeError(DecodeError error)
    {
        DecodeErrors++;
        DecodeErrorsByKind[(int)error]++;
    }

    /// <summary>
    /// True when an ERSPAN carrier on the wire comes from a switch of the site: its source is in the policy's
    /// infrastructure subnets and, when tagged, it travels on a management VLAN. A host can forge ERSPAN (and its
    /// source address) to inject mirrored frames that would get another client suspended; on a client's VLAN,
    /// or from any other address, the carrier is that host's tunnel and judged as one.
    /// </summary>
    /// <remarks>
    /// Every tag of a tagged carrier must be a management VLAN, not the innermost alone: on a QinQ site the tags
    /// inside the one an access port pushes are the host's own, so a client's host could put a management VLAN
    /// there (and a stack deeper than the tags kept hides what is beyond them). Not the segment's tag alone either
    /// (<see cref="PolicyIndex.SegmentVlan"/>): a switch sends its sessions on a management VLAN, and whichever
    /// tag <c>segment_tag</c> names, one tag of a client's in the stack makes the carrier a client's frame.
    /// </remarks>
    private bool IsMirror(in DecodedFrame carrier)
    {
        if (_index.DirectAddressOwner(carrier.Source) != Owners.Infrastructure || carrier.VlanOverflow)
        {
            return false;
        }

        for (var i = 0; i < carrier.VlanCount; i++)
        {
            if (_index.VlanOwner(carrier.Vlans[i]) != Owners.Infrastructure)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Judges the frame a switch of the site mirrored by ERSPAN as if it had been captured on the wire: every
    /// rule applies to it, tag, MAC and ARP rules included, and its frames count for its clients. A mirrored
    /// frame is itself judged as on the wire: one carrying a switch's ERSPAN is a mirror again (within
    /// <see cref="FrameDecoder.MaxWalkedTunnels"/>; deeper is a decode error), one carrying a tunnel has its
    /// tunnelled packets judged. The evidence kept is the mirrored frame, as the switch saw it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void JudgeMirrored(in DecodedFrame outer, ReadOnlySpan<byte> frame, long timestampTicks)
    {
        var carrier = outer;
        var bytes = frame;
        var mirrored = default(DecodedFrame);
        for (var depth = 1; ; depth++)
        {
            bytes = FrameDecoder.TunnelPayload(bytes, in carrier, out _);
            var wireLength = Math.Max(carrier.TunnelLength, bytes.Length);
            var error = FrameDecoder.DecodeMirrored(bytes, in carrier, ref mirrored);
            if (error != DecodeError.None)
            {
                CountDecodeError(error);
                if (!mirrored.HasAddresses)
                {
                    return;
                }
            }

            Judge(in mirrored, bytes, wireLength, timestampTicks, countClients: true);
            if (mirrored.Tunnel == Encapsulation.Erspan && IsMirror(in mirrored))
            {
                if (depth == FrameDecoder.MaxWalkedTunnels)
                {
                    CountDecodeError(DecodeError.TunnelChainTooDeep);
                    return;
                }

                carrier = mirrored;
                continue;
            }

            if (mirrored.Tunnel != Encapsulation.None)
            {
                JudgeEncapsulated(in mirrored, bytes, wireLength, timestampTicks);
            }

            return;
        }
    }

    /// <summary>
    /// Finds (or adds and classifies) the packet's flow, counts the packet (and, with
    /// <paramref name="countClients"/>, the frame for the flow's clients) and applies the rules.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Judge(in DecodedFrame decoded, ReadOnlySpan<byte> frame, int wireLength, long timestampTicks, bool countClients)
    {
        var key = FlowKey.From(decoded);
        ref var flow = ref _flows.GetOrAdd(key, timestampTicks, out var created);
        if (created || flow.Generation != _generation)
        {
            Classify(ref flow, in decoded);
        }

        flow.Packets++;
        flow.Bytes += wireLength;
        flow.LastTicks = timestampTicks;
        if (countClients)
        {
            CountClients(flow.SourceClient, flow.DestinationClient);
        }

        JudgeContent(ref flow, in decoded, frame);

        var rules = flow.StaticRules | flow.ContentRules;
        if (rules != 0)
        {
            Record(ref flow, (CaptureRules)rules, in key, in decoded, frame, wireLength, timestampTicks);
        }

        if (decoded.RouteHops > 0 && !decoded.SourceRouted)
        {
            JudgeSourceRoute(in decoded, frame, wireLength, timestampTicks);
        }
    }

    /// <summary>
    /// Judges a source-routed packet (IPv4 source route option, IPv6 routing header of type 0 or 4) as going to each
    /// hop its route has still to visit, each a flow of its own beside the packet as addressed: the node the header's
    /// destination names (a router of the site, say) sends it on to them, so a host can reach another client through
    /// infrastructure while the header names none. Only a hop a rule can concern — a client segment's address or an
    /// upstream's — is judged; the packet's tags and MACs were judged with it, as for a tunnelled packet.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void JudgeSourceRoute(in DecodedFrame packet, ReadOnlySpan<byte> frame, int wireLength, long timestampTicks)
    {
        var index = _index;
        var routed = packet;
        routed.SourceRouted = true;
        routed.RoutedVia = packet.Destination;
        var size = packet.Layer == NetworkLayer.Ipv4 ? 4 : 16;
        for (var hop = 0; hop < packet.RouteHops; hop++)
        {
            var at = packet.RouteOffset + (hop * size);
            if (at < 0 || at + size > frame.Length)
            {
                return;
            }

            routed.Destination = size == 4 ? IpKey.FromV4(BinaryPrimitives.ReadUInt32BigEndian(frame[at..])) : IpKey.FromV6(frame.Slice(at, 16));
            if (index.ClientOf(DestinationOwner(index, in routed)) >= 0 || index.UpstreamClients(routed.Destination).Length > 0)
            {
                Judge(in routed, frame, wireLength, timestampTicks, countClients: false);
            }
        }
    }

    /// <summary>
    /// Judges the packets a tunnel carries, each as a flow of its own, down to
    /// <see cref="FrameDecoder.MaxTunnelDepth"/> tunnels, and beyond that the innermost packet reached within
    /// <see cref="FrameDecoder.MaxWalkedTunnels"/> (the carriers between are opened, not judged; a longer
    /// chain is a decode error): a host can reach another client through a tunnel
    /// endpoint that is no client's, and once decapsulated the inner packet goes where its own header says.
    /// A malformed inner packet is a decode error, judged by its addresses when they were read. Only an IP
    /// packet is judged: an ARP or other non-IP frame inside an Ethernet tunnel has nothing the rules look at
    /// that a switch of the site carried. Frames per client count the frame once, by its outer packet.
    /// A tunnel end no subnet of the policy holds is off-site: the inner packet's address on that side is
    /// the far network's (a client's own tunnel to its office or cloud, whose private ranges may be any), so
    /// it names no segment of the site. A tunnel between two hosts of one client is that client's overlay
    /// (container networks): the addresses inside are its own plan, routed by its hosts, and name no segment
    /// either — a packet one of them forwards onto the site's network is on the wire again and judged there.
    /// Once outside the plan, every packet further in stays so on that side.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void JudgeEncapsulated(in DecodedFrame outer, ReadOnlySpan<byte> frame, int wireLength, long timestampTicks)
    {
        var carrier = outer;
        var inner = default(DecodedFrame);
        for (var depth = 1; ; depth++)
        {
            var error = FrameDecoder.DecodeEncapsulated(frame, in carrier, ref inner);
            var sourceEnd = SourceOwner(_index, in carrier);
            var destinationEnd = DestinationOwner(_index, in carrier);
            var endClient = _index.ClientOf(sourceEnd);
            var oneClient = endClient >= 0 && endClient == _index.ClientOf(destinationEnd);
            inner.SourceOutsidePlan = sourceEnd == Owners.Unknown || oneClient;
            inner.DestinationOutsidePlan = destinationEnd == Owners.Unknown || oneClient;
            if (error != DecodeError.None)
            {
                CountDecodeError(error);
                if (!inner.HasAddresses)
                {
                    return;
                }
            }
            else if (inner.Layer is not (NetworkLayer.Ipv4 or NetworkLayer.Ipv6))
            {
                return;
            }

            var innermost = inner.Tunnel == Encapsulation.None || depth == FrameDecoder.MaxWalkedTunnels;
            if (depth <= FrameDecoder.MaxTunnelDepth || innermost)
            {
                Judge(in inner, frame, wireLength, timestampTicks, countClients: false);
            }

            if (innermost)
            {
                if (inner.Tunnel != Encapsulation.None)
                {
                    CountDecodeError(DecodeError.TunnelChainTooDeep);
                }

                return;
            }

            carrier = inner;
        }
    }

    /// <summary>The owner of the packet's source: none for an address outside the site's plan (<see cref="DecodedFrame.SourceOutsidePlan"/>).</summary>
    private static int SourceOwner(PolicyIndex index, in DecodedFrame frame) =>
        frame.SourceOutsidePlan ? Owners.Unknown : index.AddressOwner(frame.Source);

    /// <summary>The owner of the packet's destination: none for an address outside the site's plan.</summary>
    private static int DestinationOwner(PolicyIndex index, in DecodedFrame frame) =>
        frame.DestinationOutsidePlan ? Owners.Unknown : index.AddressOwner(frame.Destination);

    private void ApplyPolicy(PolicyIndex index)
    {
        Volatile.Write(ref _pendingIndex, null);
        Volatile.Write(ref _index, index);
        _generation++;
        MapClients(index);
        _arpBindings.Configure(ClientVlans(index), ArpBindingCapacityFor(index));
    }

    /// <summary>The ARP binding table's capacity: the options' when they fix one, else the policy's.</summary>
    private int ArpBindingCapacityFor(PolicyIndex index) => _options.ArpBindingCapacity ?? index.Capture.ArpBindings;

    /// <summary>
    /// The VLANs client segments of the policy name, each with the IPv4 addresses the subnets of its
    /// segments hold (a segment on several VLANs counts its subnets on each): each VLAN has its own share of
    /// the ARP bindings, sized by them.
    /// </summary>
    private static IEnumerable<(int Vlan, long Addresses)> ClientVlans(PolicyIndex index)
    {
        var addresses = new Dictionary<int, long>();
        foreach (var client in index.Policy.Clients)
        {
            foreach (var segment in client.Segments)
            {
                var held = 0L;
                foreach (var subnet in segment.Subnets)
                {
                    if (subnet.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    {
                        held += 1L << (32 - subnet.PrefixLength);
                    }
                }

                foreach (var vlan in segment.Vlans)
                {
                    if (index.VlanOwner(vlan) >= 0)
                    {
                        addresses[vlan] = addresses.GetValueOrDefault(vlan) + held;
                    }
                }
            }
        }

        return addresses.Select(static pair => (pair.Key, pair.Value));
    }

    private void MapClients(PolicyIndex index)
    {
        lock (_reportLock)
        {
            var map = new int[index.ClientIds.Count];
            for (var i = 0; i < map.Length; i++)
            {
                if (!_clientSlots.TryGetValue(index.ClientIds[i], out var slot))
                {
                    slot = _clientSlots.Count;
                    _clientSlots.Add(index.ClientIds[i], slot);
                }

                map[i] = slot;
            }

            if (_clientSlots.Count > _clientPackets.Length)
            {
                var grown = new long[Math.Max(_clientSlots.Count, _clientPackets.Length * 2)];
                _clientPackets.CopyTo(grown, 0);
                Volatile.Write(ref _clientPackets, grown);
            }

            _clientSlotOfIndex = map;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountClients(int source, int destination)
    {
        if (source >= 0)
        {
            _clientPackets[_clientSlotOfIndex[source]]++;
        }

        if (destination >= 0 && destination != source)
        {
            _clientPackets[_clientSlotOfIndex[destination]]++;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Classify(ref FlowState flow, in DecodedFrame frame)
    {
        var index = _index;
        flow.Generation = _generation;
        var rules = CaptureRules.None;
        var tagged = frame.VlanCount > 0;
        var vlanOwner = tagged ? index.VlanOwner(index.SegmentVlan(in frame)) : Owners.Unknown;

        // A stack deeper than any real QinQ is a hopping attempt even where the site runs QinQ. Priority
        // tags outside a VLAN tag count: a switch takes an outer VID 0 tag for its port's VLAN and may forward
        // the frame with the inner tag exposed, the classic double-tagging hop. A priority tag inside the
        // innermost VLAN tag does not: with the outer tag taken off it means the VLAN the frame is in.
        // A tunnelled packet's tags are its carrier's, judged with the carrier's flow: judged again here they
        // would raise the same findings twice. They still say whose segment sent it. So for a source-routed
        // packet judged as going to a hop of its route: its tags were judged with the packet as addressed.
        var tunnelled = frame.TunnelPath != 0 || frame.SourceRouted;
        if (!tunnelled && ((frame.TaggedHeaders > 1 && !index.Capture.QinQ) || frame.VlanOverflow))
        {
            rules |= CaptureRules.VlanHopping;
        }

        if (!tunnelled && tagged && vlanOwner == Owners.Unknown)
        {
            rules |= CaptureRules.UnknownVlan;
        }

        var sourceOwner = Owners.Unknown;
        flow.TouchesUpstream = false;
        if (frame.Layer is NetworkLayer.Ipv4 or NetworkLayer.Ipv6 or NetworkLayer.Arp)
        {
            sourceOwner = SourceOwner(index, in frame);
            var destinationOwner = DestinationOwner(index, in frame);
            var sourceClient = index.ClientOf(sourceOwner);
            var destinationClient = index.ClientOf(destinationOwner);
            flow.SourceClient = sourceClient;
            flow.DestinationClient = frame.Layer == NetworkLayer.Arp || frame.NeighborSolicitation ? -1 : destinationClient;
            var vlanClient = index.ClientOf(vlanOwner);
            if (vlanClient >= 0 && sourceClient >= 0 && sourceClient != vlanClient)
            {
                rules |= CaptureRules.VlanSubnetMismatch;
            }

            if (frame.Layer == NetworkLayer.Arp)
            {
                // A host resolving another client's address (or answering for its own to another client's
                // host) shares a broadcast domain with it and is reaching it directly. A gratuitous ARP
                // (sender = target) and a probe (sender 0.0.0.0, which no subnet holds) resolve nobody.
                if (sourceClient >= 0 && destinationClient >= 0 && sourceClient != destinationClient)
                {
                    rules |= CaptureRules.CrossClientFlow;
                }
            }
            else
            {
                // A source no client's subnets hold (forged, link-local, outside the address plan) on a
                // client's VLAN is still that client's segment sending: one-way traffic needs no true
                // source address to reach another client. A neighbour solicitation reaches for its target
                // (IPv6's ARP request, judged as ARP is); one from the unspecified address is duplicate address
                // detection, which resolves nobody, as an ARP probe does not.
                var sendingClient = sourceClient >= 0 ? sourceClient
                    : frame.NeighborSolicitation && frame.Source.IsEmpty ? -1
                    : vlanClient;
                if (sendingClient >= 0 && destinationClient >= 0 && sendingClient != destinationClient)
                {
                    rules |= CaptureRules.CrossClientFlow;
                }

                var upstreamOfDestination = index.UpstreamClients(frame.Destination);
                var upstreamOfSource = index.UpstreamClients(frame.Source);
                flow.TouchesUpstream = upstreamOfDestination.Length > 0 || upstreamOfSource.Length > 0;

                // A segment reaching its own client's upstream without the proxy bypasses it; reaching
                // another client's upstream is traffic between clients. The proxy's own address exempts
                // nothing here: it lies in infrastructure and names no client, so a sending segment was
                // found by the VLAN, and a client's VLAN carrying the proxy's address is a host of that
                // client writing it (the proxy sends from infrastructure, not from a client's segment).
                if (sendingClient >= 0 && upstreamOfDestination.Length > 0)
                {
                    rules |= upstreamOfDestination.Contains(sendingClient) ? CaptureRules.ProxyBypass : CaptureRules.CrossClientFlow;
                }

                if (destinationClient >= 0 && upstreamOfSource.Length > 0 && !index.IsProxy(frame.Destination))
                {
                    rules |= upstreamOfSource.Contains(destinationClient) ? CaptureRules.ProxyBypass : CaptureRules.CrossClientFlow;
                }
            }
        }

        // Listed MACs are the stations on a segment's wire; a tunnelled packet's MACs are its carrier's
        // (judged with the carrier's flow) or those of an Ethernet frame inside the tunnel, on no wire of the site.
        flow.MacSegment = -1;
        if (!tunnelled && vlanOwner >= 0 && index.Segments[vlanOwner].Macs is not null)
        {
            flow.MacSegment = vlanOwner;
        }
        else if (!tunnelled && !tagged && sourceOwner >= 0 && index.Segments[sourceOwner].Macs is not null && index.DirectAddressOwner(frame.Source) == sourceOwner)
        {
            // Only a source the segment's subnets hold: an address that merely embeds the segment's IPv4
            // address (6to4, Teredo, NAT64) comes through a relay or translator, with that box's MAC.
            flow.MacSegment = sourceOwner;
        }

        flow.StaticRules = (uint)rules;

        // What the stream showed (weak TLS negotiated, a spoofed ARP claim) stays true under any policy;
        // what depends on the policy (listed MACs, whether the peer is an upstream) is judged again.
        flow.ContentRules &= (uint)(CaptureRules.WeakTls | CaptureRules.ArpSpoofing);
    }

    /// <summary>True when the ARP frame claims an address another MAC holds, or lies about its sender.</summary>
    private bool JudgeArp(in DecodedFrame frame)
    {
        if (frame.ArpSenderMac != frame.SourceMac)
        {
            return true;
        }

        var address = frame.Source.V4;
        if (address == 0)
        {
            // ARP probes (sender 0.0.0.0) claim nothing.
            return false;
        }

        // Bindings are held per segment VLAN: where hosts choose the inner tags, one keyed by an inner tag would let
        // a host bind another segment's addresses first and have that segment's own hosts judged spoofers.
        var vlan = _index.SegmentVlan(in frame);
        if (_arpBindings.Conflicts(vlan, address, frame.ArpSenderMac, _lastFrameTicks, out var known))
        {
            return true;
        }

        if (!known)
        {
            var named = _index.DirectAddressOwner(frame.Source) != Owners.Unknown;
            var share = _arpBindings.ShareOf(in frame, _index.SegmentTagOuter);
            if (!_arpBindings.TryBind(vlan, address, frame.ArpSenderMac, named, share, _lastFrameTicks))
            {
                NoteArpOverflow(share, share == ArpBindings.SharedRemainder ? vlan : share, _lastFrameTicks);
            }
        }

        return false;
    }

    private void Record(ref FlowState flow, CaptureRules rules, in FlowKey key, in DecodedFrame frame, ReadOnlySpan<byte> bytes, int wireLength, long timestampTicks)
    {
        var remaining = (uint)rules;
        while (remaining != 0)
        {
            var bitIndex = BitOperations.TrailingZeroCount(remaining);
            var bit = (CaptureRules)(1u << bitIndex);
            remaining &= remaining - 1;
            if ((flow.AggregatedRules & (uint)bit) != 0)
            {
                var aggregate = _aggregates[bitIndex]!;
                aggregate.Packets++;
                aggregate.LastTicks = timestampTicks;
                continue;
            }

            if (!_violations.TryGetValue((bit, key), out var violation))
            {
                violation = CreateViolation(bit, in key, in frame, timestampTicks);
                if (violation is null)
                {
                    flow.AggregatedRules |= (uint)bit;
                    var aggregate = Aggregate(bitIndex, in key, in frame, timestampTicks);
                    aggregate.Packets++;
                    aggregate.LastTicks = timestampTicks;
                    continue;
                }
            }

            violation.Packets++;
            violation.LastTicks = timestampTicks;
            if (violation.Sni is null && frame.Tls == TlsHandshake.ClientHello && frame.SniLength > 0)
            {
                violation.Sni = ServerNameOf(in key);
            }

            if (!violation.EvidenceClosed
                && violation.Frames.Count < _options.EvidenceFramesPerViolation
                && Volatile.Read(ref _evidenceBytes) < _options.EvidenceByteBudget)
            {
                var kept = bytes[..Math.Min(bytes.Length, _options.EvidenceSnapLength)].ToArray();
                lock (_reportLock)
                {
                    if (!violation.EvidenceClosed)
                    {
                        violation.Frames.Add(new EvidenceFrame(timestampTicks, wireLength, kept));
                        Interlocked.Add(ref _evidenceBytes, kept.Length);
                    }
                }
            }
        }
    }

    /// <summary>A new violation, or null when the cap is reached and the flow must be aggregated.</summary>
    private Violation? CreateViolation(CaptureRules rule, in FlowKey key, in DecodedFrame frame, long timestampTicks)
    {
        if (_violations.Count >= _options.MaxViolations)
        {
            return null;
        }

        var clients = ClientsOf(in frame, out var viaUpstream);
        var summary = Summarize(rule, in key, in frame, clients, viaUpstream);
        var violation = new Violation(rule, key, clients.ToArray(), summary, timestampTicks)
        {
            Id = NextId(),
            SourceMac = frame.SourceMac,
            DestinationMac = frame.DestinationMac,
            VlanHeaders = frame.VlanHeaders != frame.VlanCount ? frame.VlanHeaders : 0,
            Sni = ServerNameOf(in key),
            TunnelSource = frame.TunnelSource,
            TunnelDestination = frame.TunnelDestination,
            MirrorSource = frame.MirrorSource,
            MirrorSession = frame.MirrorSession,
            RoutedVia = frame.RoutedVia,
        };
        lock (_reportLock)
        {
            _violations.Add((rule, key), violation);
            _unreported.Add(violation);
            _evidencePending.Enqueue(violation);
        }

        ViolationRecorded?.Invoke();
        return violation;
    }

    /// <summary>Folds one more flow into the rule's aggregate (creating it, or widening its clients).</summary>
    private Violation Aggregate(int bitIndex, in FlowKey key, in DecodedFrame frame, long timestampTicks)
    {
        var rule = (CaptureRules)(1u << bitIndex);
        var clients = ClientsOf(in frame, out _);
        var signal = false;
        Violation aggregate;
        lock (_reportLock)
        {
            aggregate = _aggregates[bitIndex] ??= new Violation(rule, key, [], "", timestampTicks)
            {
                IsAggregate = true,
                SourceMac = frame.SourceMac,
                DestinationMac = frame.DestinationMac,
                TunnelSource = frame.TunnelSource,
                TunnelDestination = frame.TunnelDestination,
                MirrorSource = frame.MirrorSource,
                MirrorSession = frame.MirrorSession,
                RoutedVia = frame.RoutedVia,
            };
            // The episode is scoped by this flow's own clients, before they are merged with the aggregate's.
            signal |= NoteOverflow(clients, timestampTicks);
            if (aggregate.Flows == 0 || !clients.IsSubsetOf(aggregate.Clients))
            {
                // New clients make the aggregate a new finding for them: it may trip their suspension.
                clients.UnionWith(aggregate.Clients);
                aggregate.Clients = clients.ToArray();
                signal = true;
            }

            aggregate.Flows++;
            _suppressed++;
        }

        if (signal)
        {
            ViolationRecorded?.Invoke();
        }

        return aggregate;
    }

    private long NextId() => Interlocked.Increment(ref _lastId);

    /// <summary>The clients a frame concerns: its VLANs', its addresses' and its upstreams'.</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="viaUpstream">True when a client's upstream (not a client subnet) is the other end.</param>
    private SortedSet<string> ClientsOf(in DecodedFrame frame, out bool viaUpstream)
    {
        var index = _index;
        var clients = new SortedSet<string>(StringComparer.Ordinal);
        void Add(int client)
        {
            if (client >= 0)
            {
                clients.Add(index.ClientIds[client]);
            }
        }

        // The upstream's own client when the peer is that client, else every client it serves.
        void AddUpstream(ReadOnlySpan<int> owners, int peer)
        {
            if (peer >= 0 && owners.Contains(peer))
            {
                Add(peer);
                return;
            }

            foreach (var owner in owners)
            {
                Add(owner);
            }
        }

        // Where the outer tag names the segment, the tags inside it are the sender's own: a host writing another
        // client's VLAN there must not bring that client into its findings (and into a suspension).
        var vlansNamingClients = index.SegmentTagOuter ? Math.Min(frame.VlanCount, 1) : frame.VlanCount;
        for (var i = 0; i < vlansNamingClients; i++)
        {
            Add(index.ClientOf(index.VlanOwner(frame.Vlans[i])));
        }

        viaUpstream = false;
        if (frame.Layer != NetworkLayer.Other)
        {
            var sourceClient = index.ClientOf(SourceOwner(index, in frame));
            var destinationClient = index.ClientOf(DestinationOwner(index, in frame));
            Add(sourceClient);
            Add(destinationClient);
            var upstreamOfSource = index.UpstreamClients(frame.Source);
            var upstreamOfDestination = index.UpstreamClients(frame.Destination);
            AddUpstream(upstreamOfSource, destinationClient);
            AddUpstream(upstreamOfDestination, sourceClient >= 0 || frame.VlanCount == 0 ? sourceClient : index.ClientOf(index.VlanOwner(index.SegmentVlan(in frame))));
            viaUpstream = upstreamOfSource.Length > 0 || upstreamOfDestination.Length > 0;
        }

        return clients;
    }
}
