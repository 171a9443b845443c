using SegmentController.Core.Policy;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// The site the authored switch data describes: client alpha on VLAN 10, bravo on VLAN 20,
/// management VLAN 99, uplinks ge-0/0/6 and Gi1/0/5. (Built directly until the policy loader lands.)
/// </summary>
internal static class TestPolicies
{
    /// <summary>A secret in a process-local environment variable of a unique name (nothing to clean up on disk).</summary>
    public static SecretReference Secret(string value)
    {
        var name = $"SEGCTL_TEST_SNMP_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(name, value);
        return new SecretReference { Source = SecretSource.Environment, Name = name };
    }

    public static SwitchDefinition V2cSwitch(string name, int port, string community, SwitchProfile profile) => new()
    {
        Name = name,
        Address = "127.0.0.1",
        Port = port,
        Profile = profile,
        Snmp = new SnmpSettings { Version = SnmpVersion.V2c, Community = Secret(community) },
        // snmpsimd is Python: on a busy machine an answer can take a while, and a poll is many requests.
        Timeout = TimeSpan.FromSeconds(2),
        Retries = 1,
        MaxRepetitions = 10,
    };

    public static SitePolicy Site(params SwitchDefinition[] switches) => new()
    {
        Site = new SiteInfo { Id = "test-site", Name = "Test site" },
        Controller = new ControllerSettings(),
        Infrastructure = new InfrastructureSettings
        {
            ManagementVlans = [99],
            TrunkPorts =
            [
                new PortAssignment { Switch = "qbridge-sw1", Ports = ["ge-0/0/6"] },
                new PortAssignment { Switch = "cisco-sw2", Ports = ["Gi1/0/5"] },
            ],
        },
        Switches = switches,
        Clients =
        [
            Client("alpha", 10,
                new PortAssignment { Switch = "qbridge-sw1", Ports = ["ge-0/0/1", "ge-0/0/2", "ge-0/0/4", "ge-0/0/8"] },
                new PortAssignment { Switch = "cisco-sw2", Ports = ["Gi1/0/1", "Gi1/0/2", "Gi1/0/4", "Gi1/0/6"] }),
            Client("bravo", 20,
                new PortAssignment { Switch = "qbridge-sw1", Ports = ["ge-0/0/3", "ge-0/0/7"] },
                new PortAssignment { Switch = "cisco-sw2", Ports = ["Gi1/0/3"] }),
        ],
    };

    public static ClientDefinition Client(string id, int vlan, params PortAssignment[] ports) => new()
    {
        Id = id,
        Name = id,
        ContractEnd = new DateOnly(2030, 1, 1),
        Segments = [new Segment { Name = $"{id}-lan", Vlans = [vlan], Ports = ports }],
    };
}
