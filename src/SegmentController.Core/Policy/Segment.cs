using System.Net;
using System.Net.NetworkInformation;

namespace SegmentController.Core.Policy;

/// <summary>A part of a client's network: VLANs, subnets, switch ports and optionally MACs.</summary>
public sealed record Segment
{
    /// <summary>A readable name, unique within the client.</summary>
    public required string Name { get; init; }

    /// <summary>VLAN ids (1–4094).</summary>
    public IReadOnlyList<int> Vlans { get; init; } = [];

    /// <summary>IPv4 and IPv6 subnets.</summary>
    public IReadOnlyList<IPNetwork> Subnets { get; init; } = [];

    /// <summary>Access ports, per switch.</summary>
    public IReadOnlyList<PortAssignment> Ports { get; init; } = [];

    /// <summary>Allowed station MACs; empty means any.</summary>
    public IReadOnlyList<PhysicalAddress> Macs { get; init; } = [];
}
