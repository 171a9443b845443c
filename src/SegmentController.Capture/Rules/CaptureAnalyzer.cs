using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Flows;
using SegmentController.Capture.Sources;
using SegmentController.Core.Findings;

namespace SegmentController.Capture.Rules;

/// <summary>
/// Judges every frame of one capture against the policy: decode, classify the flow once, apply the
/// capture rules, count. <see cref="ProcessFrame"/> runs on the capture thread and allocates nothing
/// for a frame of a known, clean flow; findings are read from other threads.
/// </summary>
internal sealed class CaptureAnalyzer : IFrameSink
{
    private readonly CaptureAnalyzerOptions _options;
    private readonly FlowTable _flows;
    private readonly Dictionary<(CaptureRules, FlowKey), Violation> _violations = [];
    private readonly List<Violation> _unreported = [];
    private readonly List<DegradedEvent> _degraded = [];
    private readonly List<DegradedEvent> _unreportedDegraded = [];
    private readonly Lock _reportLock = new();
    private readonly Dictionary<(int Vlan, uint Address), ulong> _arpBindings = [];
    private readonly Dictionary<string, int> _clientSlots = new(StringComparer.Ordinal);
    private long[] _clientPackets = new long[16];
    private int[] _clientSlotOfIndex = [];
    private PolicyIndex _index;
    private PolicyIndex? _pendingIndex;
    private int _generation = 1;
    private long _evidenceBytes;
    private long _lastFrameTicks;
    private long _silenceTicks;
    private long _lastExpiryTicks;
    private bool _silent;
    private bool _lossy;
    private long _statsReceived;
    private long _statsDropped;

    public CaptureAnalyzer(PolicyIndex index, string interfaceName, CaptureAnalyzerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(interfaceName);
        _options = options ?? new CaptureAnalyzerOptions();
        _flows = new FlowTable(_options.FlowCapacity);
        InterfaceName = interfaceName;
        _index = index;
        _silenceTicks = index.Capture.Silence.Ticks;
        MapClients(index);
    }

    public string InterfaceName { get; }

    /// <summary>
    /// Called on the capture thread when a new violation awaits <see cref="TakeNewFindings"/>, so a
    /// publisher can take it at once instead of on its next tick. Must return quickly.
    /// </summary>
    public Action? ViolationRecorded { get; set; }

    public long Packets { get; private set; }

    public long Bytes { get; private set; }

    public long DecodeErrors { get; private set; }

    /// <summary>Decode errors by kind (index = <see cref="DecodeError"/>).</summary>
    public long[] DecodeErrorsByKind { get; } = new long[Enum.GetValues<DecodeError>().Length];

    /// <summary>Violations not kept because <see cref="CaptureAnalyzerOptions.MaxViolations"/> was reached.</summary>
    public long SuppressedViolations { get; private set; }

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

    /// <summary>The latest capture counters reported.</summary>
    public CaptureStatistics LastStatistics { get; private set; }

    void IFrameSink.OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) =>
        ProcessFrame(frame, wireLength, timestampTicks);

    void IFrameSink.OnIdle(long nowTicks) => CheckSilence(nowTicks, StartedTicks);

    void IFrameSink.OnStatistics(CaptureStatistics statistics, long nowTicks)
    {
        LastStatistics = statistics;
        ReportStatistics(statistics.Received, statistics.TotalDropped, nowTicks);
    }

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
        CheckGap(timestampTicks);
        _lastFrameTicks = timestampTicks;
        if (timestampTicks - _lastExpiryTicks > TimeSpan.TicksPerSecond)
        {
            _lastExpiryTicks = timestampTicks;
            _flows.Expire(timestampTicks - _options.FlowIdleTimeout.Ticks);
        }

        var decoded = default(DecodedFrame);
        var error = FrameDecoder.Decode(frame, wireLength, ref decoded);
        if (error != DecodeError.None)
        {
            DecodeErrors++;
            DecodeErrorsByKind[(int)error]++;
            return;
        }

        var key = FlowKey.From(decoded);
        ref var flow = ref _flows.GetOrAdd(key, timestampTicks, out var created);
        if (created || flow.Generation != _generation)
        {
            Classify(ref flow, in decoded);
        }

        flow.Packets++;
        flow.Bytes += wireLength;
        flow.LastTicks = timestampTicks;
        CountClients(flow.SourceClient, flow.DestinationClient);
        JudgeContent(ref flow, in decoded);

        var rules = flow.StaticRules | flow.ContentRules;
        if (rules != 0)
        {
            Record((CaptureRules)rules, in key, in decoded, frame, wireLength, timestampTicks);
        }
    }

    /// <summary>
    /// Reports libpcap's cumulative counters for this interface; loss above the policy's threshold in
    /// the interval since the last report starts a capture-degraded episode.
    /// </summary>
    public void ReportStatistics(long received, long dropped, long nowTicks)
    {
        var deltaReceived = Math.Max(0, received - _statsReceived);
        var deltaDropped = Math.Max(0, dropped - _statsDropped);
        _statsReceived = received;
        _statsDropped = dropped;

        // On Linux libpcap's "received" already includes what the kernel dropped.
        var seen = Math.Max(deltaReceived, deltaDropped);
        var loss = seen == 0 ? 0 : (double)deltaDropped / seen;
        if (loss > Volatile.Read(ref _index).Capture.LossThreshold && deltaDropped > 0)
        {
            if (!_lossy)
            {
                _lossy = true;
                AddDegraded(new DegradedEvent(InterfaceName, "loss", received, dropped, loss, nowTicks, nowTicks));
            }
        }
        else if (_lossy)
        {
            _lossy = false;
        }
    }

    /// <summary>Called while no frames arrive: silence longer than the policy allows is degraded capture.</summary>
    public void CheckSilence(long nowTicks, long startedTicks)
    {
        if (_lastFrameTicks == 0 && startedTicks == 0)
        {
            StartedTicks = nowTicks;
            return;
        }

        var since = _lastFrameTicks == 0 ? startedTicks : _lastFrameTicks;
        if (!_silent && nowTicks - since > Volatile.Read(ref _index).Capture.Silence.Ticks)
        {
            _silent = true;
            AddDegraded(new DegradedEvent(InterfaceName, "silence", _statsReceived, _statsDropped, 0, since, nowTicks));
        }
    }

    /// <summary>True while capture on this interface is not trustworthy.</summary>
    public bool Degraded => _silent || _lossy;

    /// <summary>Every finding so far (offline analysis reads this once at the end).</summary>
    public IReadOnlyList<Finding> AllFindings(DateTimeOffset observedAt)
    {
        lock (_reportLock)
        {
            return [.. _violations.Values.Select(v => ToFinding(v, observedAt)), .. _degraded.Select(d => ToFinding(d, observedAt))];
        }
    }

    /// <summary>Findings not handed out before (the live service publishes these).</summary>
    public IReadOnlyList<Finding> TakeNewFindings(DateTimeOffset observedAt)
    {
        lock (_reportLock)
        {
            var findings = new List<Finding>(_unreported.Count + _unreportedDegraded.Count);
            findings.AddRange(_unreported.Select(v => ToFinding(v, observedAt)));
            findings.AddRange(_unreportedDegraded.Select(d => ToFinding(d, observedAt)));
            _unreported.Clear();
            _unreportedDegraded.Clear();
            return findings;
        }
    }

    /// <summary>The violations kept so far, with their evidence frames.</summary>
    public IReadOnlyList<Violation> Violations()
    {
        lock (_reportLock)
        {
            return _violations.Values.ToArray();
        }
    }

    private void ApplyPolicy(PolicyIndex index)
    {
        Volatile.Write(ref _pendingIndex, null);
        Volatile.Write(ref _index, index);
        _silenceTicks = index.Capture.Silence.Ticks;
        _generation++;
        MapClients(index);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckGap(long timestampTicks)
    {
        if (_lastFrameTicks == 0)
        {
            return;
        }

        if (timestampTicks - _lastFrameTicks > _silenceTicks)
        {
            AddDegraded(new DegradedEvent(InterfaceName, "silence", Packets, 0, 0, _lastFrameTicks, timestampTicks));
        }

        _silent = false;
    }

    private void AddDegraded(DegradedEvent degraded)
    {
        lock (_reportLock)
        {
            if (_degraded.Count >= _options.MaxViolations)
            {
                SuppressedViolations++;
                return;
            }

            _degraded.Add(degraded);
            _unreportedDegraded.Add(degraded);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Classify(ref FlowState flow, in DecodedFrame frame)
    {
        var index = _index;
        flow.Generation = _generation;
        var rules = CaptureRules.None;
        var tagged = frame.VlanCount > 0;
        var vlanOwner = tagged ? index.VlanOwner(frame.InnerVlan) : Owners.Unknown;
        if (frame.VlanCount > 1 && !index.Capture.QinQ)
        {
            rules |= CaptureRules.VlanHopping;
        }

        if (tagged && vlanOwner == Owners.Unknown)
        {
            rules |= CaptureRules.UnknownVlan;
        }

        var sourceOwner = Owners.Unknown;
        var destinationOwner = Owners.Unknown;
        if (frame.Layer is NetworkLayer.Ipv4 or NetworkLayer.Ipv6 or NetworkLayer.Arp)
        {
            sourceOwner = index.AddressOwner(frame.Source);
            destinationOwner = index.AddressOwner(frame.Destination);
            var sourceClient = index.ClientOf(sourceOwner);
            var destinationClient = index.ClientOf(destinationOwner);
            flow.SourceClient = sourceClient;
            flow.DestinationClient = frame.Layer == NetworkLayer.Arp ? -1 : destinationClient;
            var vlanClient = index.ClientOf(vlanOwner);
            if (vlanClient >= 0 && sourceClient >= 0 && sourceClient != vlanClient)
            {
                rules |= CaptureRules.VlanSubnetMismatch;
            }

            if (frame.Layer != NetworkLayer.Arp)
            {
                if (sourceClient >= 0 && destinationClient >= 0 && sourceClient != destinationClient)
                {
                    rules |= CaptureRules.CrossClientFlow;
                }

                var upstreamOfDestination = index.UpstreamClient(frame.Destination);
                var upstreamOfSource = index.UpstreamClient(frame.Source);
                flow.TouchesUpstream = upstreamOfDestination >= 0 || upstreamOfSource >= 0;
                if ((upstreamOfDestination >= 0 && sourceClient >= 0 && !index.IsProxy(frame.Source))
                    || (upstreamOfSource >= 0 && destinationClient >= 0 && !index.IsProxy(frame.Destination)))
                {
                    rules |= CaptureRules.ProxyBypass;
                }
            }
        }

        flow.MacSegment = -1;
        if (vlanOwner >= 0 && index.Segments[vlanOwner].Macs is not null)
        {
            flow.MacSegment = vlanOwner;
        }
        else if (!tagged && sourceOwner >= 0 && index.Segments[sourceOwner].Macs is not null)
        {
            flow.MacSegment = sourceOwner;
        }

        flow.StaticRules = (uint)rules;
        flow.ContentRules = 0;
        flow.PayloadChecked = false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void JudgeContent(ref FlowState flow, in DecodedFrame frame)
    {
        if (flow.MacSegment >= 0 && !_index.Segments[flow.MacSegment].Macs!.Contains(frame.SourceMac))
        {
            flow.ContentRules |= (uint)CaptureRules.UnknownMac;
        }

        if (frame.Tls == TlsHandshake.ServerHello && frame.TlsVersion < TlsParser.Tls12)
        {
            flow.ContentRules |= (uint)CaptureRules.WeakTls;
        }

        if (flow.TouchesUpstream && !flow.PayloadChecked && frame.Protocol == IpProtocols.Tcp && frame.PayloadLength > 0)
        {
            flow.PayloadChecked = true;
            if (!frame.LooksLikeTls)
            {
                flow.ContentRules |= (uint)CaptureRules.CleartextToClient;
            }
        }

        if (frame.Layer == NetworkLayer.Arp && JudgeArp(in frame))
        {
            flow.ContentRules |= (uint)CaptureRules.ArpSpoofing;
        }
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

        var key = (frame.InnerVlan, address);
        if (_arpBindings.TryGetValue(key, out var mac))
        {
            return mac != frame.ArpSenderMac;
        }

        if (_arpBindings.Count >= _options.ArpBindingCapacity)
        {
            _arpBindings.Clear();
        }

        _arpBindings.Add(key, frame.ArpSenderMac);
        return false;
    }

    private void Record(CaptureRules rules, in FlowKey key, in DecodedFrame frame, ReadOnlySpan<byte> bytes, int wireLength, long timestampTicks)
    {
        var remaining = (uint)rules;
        while (remaining != 0)
        {
            var bit = (CaptureRules)(1u << BitOperations.TrailingZeroCount(remaining));
            remaining &= remaining - 1;
            if (!_violations.TryGetValue((bit, key), out var violation))
            {
                violation = CreateViolation(bit, in key, in frame, timestampTicks);
                if (violation is null)
                {
                    continue;
                }
            }

            violation.Packets++;
            violation.LastTicks = timestampTicks;
            if (violation.Frames.Count < _options.EvidenceFramesPerViolation && _evidenceBytes < _options.EvidenceByteBudget)
            {
                var kept = bytes[..Math.Min(bytes.Length, _options.EvidenceSnapLength)].ToArray();
                _evidenceBytes += kept.Length;
                lock (_reportLock)
                {
                    violation.Frames.Add(new EvidenceFrame(timestampTicks, wireLength, kept));
                }
            }
        }
    }

    private Violation? CreateViolation(CaptureRules rule, in FlowKey key, in DecodedFrame frame, long timestampTicks)
    {
        if (_violations.Count >= _options.MaxViolations)
        {
            SuppressedViolations++;
            return null;
        }

        var index = _index;
        var clients = new SortedSet<string>(StringComparer.Ordinal);
        void Add(int client)
        {
            if (client >= 0)
            {
                clients.Add(index.ClientIds[client]);
            }
        }

        for (var i = 0; i < frame.VlanCount; i++)
        {
            Add(index.ClientOf(index.VlanOwner(frame.Vlans[i])));
        }

        if (frame.Layer != NetworkLayer.Other)
        {
            Add(index.ClientOf(index.AddressOwner(frame.Source)));
            Add(index.ClientOf(index.AddressOwner(frame.Destination)));
            Add(index.UpstreamClient(frame.Source));
            Add(index.UpstreamClient(frame.Destination));
        }

        var summary = Summarize(rule, in key, in frame, clients);
        var violation = new Violation(rule, key, clients.ToArray(), summary, timestampTicks)
        {
            SourceMac = frame.SourceMac,
            DestinationMac = frame.DestinationMac,
        };
        lock (_reportLock)
        {
            _violations.Add((rule, key), violation);
            _unreported.Add(violation);
        }

        ViolationRecorded?.Invoke();
        return violation;
    }

    private static string Summarize(CaptureRules rule, in FlowKey key, in DecodedFrame frame, SortedSet<string> clients)
    {
        var vlans = key.VlanDepth == 0 ? "untagged" : "VLAN " + string.Join('/', key.VlanList());
        var flow = key.Layer switch
        {
            NetworkLayer.Other => $"{FormatMac(frame.SourceMac)} → {FormatMac(frame.DestinationMac)}",
            NetworkLayer.Arp => $"ARP {key.Source} → {key.Destination}",
            _ when key.SourcePort != 0 || key.DestinationPort != 0 =>
                $"{IpProtocols.Name(key.Layer, key.Protocol)} {Endpoint(key.Source, key.SourcePort)} → {Endpoint(key.Destination, key.DestinationPort)}",
            _ => $"{IpProtocols.Name(key.Layer, key.Protocol)} {key.Source} → {key.Destination}",
        };
        var who = clients.Count == 0 ? "no client" : string.Join(", ", clients);
        var what = rule switch
        {
            CaptureRules.CrossClientFlow => "traffic between clients",
            CaptureRules.VlanSubnetMismatch => "a client's VLAN carries another client's address",
            CaptureRules.VlanHopping => $"stacked VLAN tags ({key.VlanDepth} deep) where the site runs no QinQ",
            CaptureRules.ProxyBypass => "a client segment reaches a client upstream without the proxy",
            CaptureRules.CleartextToClient => "non-TLS payload to or from a client upstream",
            CaptureRules.WeakTls => string.Create(CultureInfo.InvariantCulture, $"TLS below 1.2 negotiated (0x{frame.TlsVersion:x4})"),
            CaptureRules.UnknownVlan => "a VLAN the policy does not name",
            CaptureRules.UnknownMac => $"station MAC {FormatMac(frame.SourceMac)} is not listed for its segment",
            CaptureRules.ArpSpoofing => $"ARP claim of {key.Source} by {FormatMac(frame.ArpSenderMac)} conflicts with an earlier binding or the frame's sender",
            _ => "violation",
        };
        return $"{char.ToUpperInvariant(what[0])}{what[1..]} ({who}): {flow} on {vlans}";
    }

    private static string Endpoint(IpKey address, ushort port) =>
        address.IsV4
            ? string.Create(CultureInfo.InvariantCulture, $"{address}:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"[{address}]:{port}");

    internal static string FormatMac(ulong mac) =>
        string.Create(17, mac, static (span, value) =>
        {
            for (var i = 0; i < 6; i++)
            {
                var b = (byte)(value >> (40 - (8 * i)));
                b.TryFormat(span[(i * 3)..], out _, "x2", CultureInfo.InvariantCulture);
                if (i < 5)
                {
                    span[(i * 3) + 2] = ':';
                }
            }
        });

    private static Finding ToFinding(Violation violation, DateTimeOffset observedAt)
    {
        var key = violation.Flow;
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["vlans"] = key.VlanList(),
            ["src"] = key.Layer == NetworkLayer.Other ? FormatMac(violation.SourceMac) : key.Source.ToString(),
            ["dst"] = key.Layer == NetworkLayer.Other ? FormatMac(violation.DestinationMac) : key.Destination.ToString(),
            ["protocol"] = IpProtocols.Name(key.Layer, key.Protocol),
            ["src_port"] = (int)key.SourcePort,
            ["dst_port"] = (int)key.DestinationPort,
            ["packets"] = violation.Packets,
            ["first_seen"] = new DateTimeOffset(violation.FirstTicks, TimeSpan.Zero),
            ["last_seen"] = new DateTimeOffset(violation.LastTicks, TimeSpan.Zero),
        };
        return Finding.Create(CaptureRuleIds.Of(violation.Rule), violation.Clients, violation.Summary, evidence, observedAt);
    }

    private static Finding ToFinding(DegradedEvent degraded, DateTimeOffset observedAt)
    {
        var summary = degraded.Reason == "loss"
            ? string.Create(CultureInfo.InvariantCulture, $"Capture on {degraded.Interface} lost {degraded.Loss:P2} of frames (dropped {degraded.Dropped} of {degraded.Received})")
            : string.Create(CultureInfo.InvariantCulture, $"No frames on {degraded.Interface} for {TimeSpan.FromTicks(degraded.LastTicks - degraded.FirstTicks).TotalSeconds:0} s");
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["interface"] = degraded.Interface,
            ["reason"] = degraded.Reason,
            ["received"] = degraded.Received,
            ["dropped"] = degraded.Dropped,
            ["loss"] = degraded.Loss,
            ["first_seen"] = new DateTimeOffset(degraded.FirstTicks, TimeSpan.Zero),
            ["last_seen"] = new DateTimeOffset(degraded.LastTicks, TimeSpan.Zero),
        };
        return Finding.Create(RuleIds.CaptureDegraded, [], summary, evidence, observedAt);
    }
}
