using System.Net;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Suspension;

internal static class TestPolicies
{
    public static SitePolicy TwoClients(int approvers = 2, bool requireAudit = false, VerificationLostAction onLost = VerificationLostAction.Suspend) => new()
    {
        Site = new SiteInfo { Id = "site", Name = "Site" },
        Controller = new ControllerSettings { OnVerificationLost = onLost },
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Restore = new RestoreSettings { Approvers = approvers, RequirePassingAudit = requireAudit },
        Clients =
        [
            Client("acme", "10.1.0.0/24", "Gi1/0/1"),
            Client("globex", "10.2.0.0/24", "Gi1/0/2"),
        ],
    };

    private static ClientDefinition Client(string id, string subnet, string port) => new()
    {
        Id = id,
        Name = id,
        ContractEnd = new DateOnly(2030, 1, 1),
        Segments =
        [
            new Segment
            {
                Name = "agents",
                Vlans = [10],
                Subnets = [IPNetwork.Parse(subnet)],
                Ports = [new PortAssignment { Switch = "sw1", Ports = [port] }],
            },
        ],
    };
}
