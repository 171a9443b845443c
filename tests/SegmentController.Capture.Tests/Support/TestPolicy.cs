using System.Net;
using System.Net.NetworkInformation;
using SegmentController.Capture.Classification;
using SegmentController.Core.Policy;

namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// The corpus site: clients acme (VLAN 10, MACs listed) and globex (VLAN 20), management VLAN 99
/// with the proxy, and one upstream per client at an IP literal.
/// </summary>
internal static class TestPolicy
{
    public const string AcmeAgentMac = "02:00:00:00:10:01";
    public const string AcmeAgent2Mac = "02:00:00:00:10:02";
    public const string AcmeGatewayMac = "00:00:5e:00:01:0a";
    public const string GlobexAgentMac = "02:00:00:00:20:01";
    public const string InfraMac = "02:00:00:00:99:01";
    public const string ProxyMac = "02:00:00:00:99:05";

    public static SitePolicy Create(bool qinq = false, string? upstreamHost = null, TimeSpan? silence = null, SegmentTag segmentTag = SegmentTag.Inner) => new()
    {
        Site = new SiteInfo { Id = "test-site", Name = "Test site" },
        Controller = new ControllerSettings
        {
            Capture = new CaptureSettings { QinQ = qinq, SegmentTag = segmentTag, Silence = silence ?? TimeSpan.FromSeconds(60), LossThreshold = 0.001 },
        },
        Infrastructure = new InfrastructureSettings
        {
            ManagementVlans = [99],
            Subnets = [IPNetwork.Parse("10.99.0.0/24"), IPNetwork.Parse("2001:db8:99::/64")],
            ProxyAddresses = [IPAddress.Parse("10.99.0.5"), IPAddress.Parse("2001:db8:99::5")],
        },
        Switches = [],
        Clients =
        [
            new ClientDefinition
            {
                Id = "acme",
                Name = "Acme",
                ContractEnd = new DateOnly(2030, 1, 1),
                Segments =
                [
                    new Segment
                    {
                        Name = "agents",
                        Vlans = [10],
                        Subnets = [IPNetwork.Parse("10.10.0.0/16"), IPNetwork.Parse("2001:db8:10::/48")],
                        Macs = [PhysicalAddress.Parse(AcmeAgentMac), PhysicalAddress.Parse(AcmeAgent2Mac), PhysicalAddress.Parse(AcmeGatewayMac)],
                    },
                ],
                Upstreams =
                [
                    new Upstream { Name = "crm", Hosts = ["crm.acme.example"], Destinations = [new Uri(upstreamHost ?? "https://192.0.2.10/")] },
                ],
            },
            new ClientDefinition
            {
                Id = "globex",
                Name = "Globex",
                ContractEnd = new DateOnly(2030, 1, 1),
                Segments =
                [
                    new Segment
                    {
                        Name = "agents",
                        Vlans = [20],
                        Subnets = [IPNetwork.Parse("10.20.0.0/16"), IPNetwork.Parse("2001:db8:20::/48")],
                    },
                ],
                Upstreams =
                [
                    new Upstream { Name = "erp", Hosts = ["erp.globex.example"], Destinations = [new Uri("https://[2001:db8:ffff::20]:8443/")] },
                ],
            },
        ],
    };

    public static PolicyIndex Index(bool qinq = false, TimeSpan? silence = null, SegmentTag segmentTag = SegmentTag.Inner) =>
        PolicyIndex.BuildAsync(Create(qinq, silence: silence, segmentTag: segmentTag), null, TimeSpan.FromSeconds(2), CancellationToken.None).GetAwaiter().GetResult();
}
