using System.Net;

namespace SegmentController.Core.Policy;

/// <summary>Shared infrastructure: belongs to no client and may carry every client's traffic.</summary>
public sealed record InfrastructureSettings
{
    /// <summary>Management VLANs (switches, controller, proxy).</summary>
    public IReadOnlyList<int> ManagementVlans { get; init; } = [];

    /// <summary>Infrastructure subnets (IPv4 and IPv6).</summary>
    public IReadOnlyList<IPNetwork> Subnets { get; init; } = [];

    /// <summary>The proxy's own addresses, through which client traffic must flow.</summary>
    public IReadOnlyList<IPAddress> ProxyAddresses { get; init; } = [];

    /// <summary>Trunk and uplink ports, which legitimately carry several VLANs.</summary>
    public IReadOnlyList<PortAssignment> TrunkPorts { get; init; } = [];
}
