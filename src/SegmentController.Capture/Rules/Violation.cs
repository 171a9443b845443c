using SegmentController.Capture.Decoding;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Flows;

namespace SegmentController.Capture.Rules;

/// <summary>
/// One rule broken by one flow: counts, first/last seen and the first frames as evidence. An aggregate
/// (<see cref="IsAggregate"/>) stands for every further flow breaking the rule once the analyzer tracks
/// as many violations as it may: it keeps counting and reporting, without per-flow evidence.
/// </summary>
/// <remarks>
/// The capture thread writes the counters (<see cref="Packets"/>, <see cref="LastTicks"/>,
/// <see cref="Flows"/>, <see cref="Sni"/>); everything else changes under the analyzer's report lock.
/// </remarks>
internal sealed class Violation
{
    public Violation(CaptureRules rule, FlowKey flow, IReadOnlyList<string> clients, string summary, long firstTicks)
    {
        Rule = rule;
        Flow = flow;
        Clients = clients;
        Summary = summary;
        FirstTicks = firstTicks;
        LastTicks = firstTicks;
    }

    /// <summary>Unique within its analyzer (the finding's key across updates).</summary>
    public long Id { get; init; }

    public CaptureRules Rule { get; }

    /// <summary>The flow (for an aggregate: the first flow folded into it).</summary>
    public FlowKey Flow { get; }

    /// <summary>Client ids concerned (an aggregate gains clients as flows are folded in).</summary>
    public IReadOnlyList<string> Clients { get; set; }

    public string Summary { get; }

    public long Packets { get; set; }

    /// <summary>The MACs of the first frame (the only addresses a non-IP flow has).</summary>
    public ulong SourceMac { get; init; }

    public ulong DestinationMac { get; init; }

    /// <summary>
    /// Tag headers of the first frame when they were more than the VLAN ids kept (priority tags, or a stack
    /// deeper than the tags kept); else 0.
    /// </summary>
    public int VlanHeaders { get; init; }

    /// <summary>For a flow decoded out of tunnels: the addresses of the outermost packet, the one on the wire.</summary>
    public IpKey TunnelSource { get; init; }

    public IpKey TunnelDestination { get; init; }

    /// <summary>For a mirrored flow: the switch that mirrored its first frame, and the ERSPAN session.</summary>
    public IpKey MirrorSource { get; init; }

    public ushort MirrorSession { get; init; }

    /// <summary>For a flow to a hop of a source route: the destination its packets' header named, the node that sends them on.</summary>
    public IpKey RoutedVia { get; init; }

    public long FirstTicks { get; }

    public long LastTicks { get; set; }

    /// <summary>The TLS server name of the connection, once a ClientHello named it.</summary>
    public string? Sni { get; set; }

    /// <summary>True for the per-rule aggregate of flows not tracked one by one.</summary>
    public bool IsAggregate { get; init; }

    /// <summary>Flows folded into an aggregate.</summary>
    public long Flows { get; set; }

    public List<EvidenceFrame> Frames { get; } = [];

    private volatile bool _evidenceClosed;

    /// <summary>Set once the frames were handed over for writing: no more are kept.</summary>
    public bool EvidenceClosed
    {
        get => _evidenceClosed;
        set => _evidenceClosed = value;
    }

    /// <summary>The evidence pcap written for this violation, and its SHA-256 (hex).</summary>
    public string? EvidenceFile { get; set; }

    public string? EvidenceSha256 { get; set; }

    /// <summary>Why no evidence file exists, when it could not be written.</summary>
    public string? EvidenceNote { get; set; }

    /// <summary>True once a finding for it was handed out.</summary>
    public bool Published { get; set; }

    public long PublishedPackets { get; set; }

    public long PublishedFlows { get; set; }

    public int PublishedClients { get; set; }

    public string? PublishedSni { get; set; }

    public bool PublishedEvidence { get; set; }
}
