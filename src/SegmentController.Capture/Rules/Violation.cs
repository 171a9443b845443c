using SegmentController.Capture.Evidence;
using SegmentController.Capture.Flows;

namespace SegmentController.Capture.Rules;

/// <summary>One rule broken by one flow: counts, first/last seen and the first frames as evidence.</summary>
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

    public CaptureRules Rule { get; }

    public FlowKey Flow { get; }

    public IReadOnlyList<string> Clients { get; }

    public string Summary { get; }

    public long Packets { get; set; }

    /// <summary>The MACs of the first frame (the only addresses a non-IP flow has).</summary>
    public ulong SourceMac { get; init; }

    public ulong DestinationMac { get; init; }

    public long FirstTicks { get; }

    public long LastTicks { get; set; }

    public List<EvidenceFrame> Frames { get; } = [];
}
