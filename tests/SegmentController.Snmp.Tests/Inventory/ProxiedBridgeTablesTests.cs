using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Polling;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Tests.Inventory;

/// <summary>
/// An access switch whose one agent is snmpd (real IF-MIB, real port control) proxying BRIDGE-MIB and
/// Q-BRIDGE-MIB to another agent, as the lab switch is built: the qbridge profile reads each port under its
/// real ifIndex and name, in its VLAN; the same switch with IF-MIB alone is never a verified switch.
/// </summary>
public sealed class ProxiedBridgeTablesTests
{
    private static SwitchDefinition Switch(SwitchNamespace ns) => new()
    {
        Name = "lab-sw",
        Address = ns.AgentAddress,
        Port = ns.Agent.Port,
        Profile = SwitchProfile.QBridge,
        Snmp = new SnmpSettings
        {
            Version = SnmpVersion.V3,
            User = "sha256",
            AuthProtocol = SnmpAuthProtocol.Sha256,
            AuthPassphrase = TestPolicies.Secret(SnmpdAgent.AuthPass),
            PrivProtocol = SnmpPrivProtocol.Aes128,
            PrivPassphrase = TestPolicies.Secret(SnmpdAgent.PrivPass),
        },
        Timeout = TimeSpan.FromSeconds(2),
        Retries = 1,
    };

    private static SitePolicy Policy(SwitchNamespace ns) => TestPolicies.Site(Switch(ns)) with
    {
        Infrastructure = new InfrastructureSettings { ManagementVlans = [99] },
        Clients =
        [
            TestPolicies.Client("alpha", 10, new PortAssignment { Switch = "lab-sw", Ports = ["swpa1", "swpa2"] }),
            TestPolicies.Client("bravo", 20, new PortAssignment { Switch = "lab-sw", Ports = ["swpb1"] }),
        ],
    };

    [Fact]
    public async Task QBridgeInventory_SnmpdProxyingTheBridgeTables_EachAccessPortUnderItsRealIfIndexInItsVlan()
    {
        await using var ns = await SwitchNamespace.CreateAsync(("swpa1", 10), ("swpa2", 10), ("swpb1", 20));
        var credentials = new SnmpCredentials
        {
            Version = SnmpVersion.V3,
            User = "sha256",
            AuthProtocol = SnmpAuthProtocol.Sha256,
            AuthPassphrase = SnmpdAgent.AuthPass,
            PrivProtocol = SnmpPrivProtocol.Aes128,
            PrivPassphrase = SnmpdAgent.PrivPass,
        };
        await using var client = await SnmpClient.ConnectAsync(ns.Agent.Target, credentials, new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(5) });

        var inventory = await new QBridgeDriver().CollectAsync(client, "lab-sw", 10, includeFdb: true, CancellationToken.None);

        Assert.Equal(["swpa1", "swpa2", "swpb1"], inventory.Ports.Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var (name, vlan) in new[] { ("swpa1", 10), ("swpa2", 10), ("swpb1", 20) })
        {
            var port = inventory.FindPort(name)!;
            Assert.Equal(await ns.IfIndexAsync(name), port.IfIndex);
            Assert.Equal((PortMode.Access, vlan), (port.Mode, port.AccessVlan));
            Assert.Empty(port.TaggedVlans);
            Assert.Equal("up", port.Admin);
        }

        Assert.Equal([10, 20], inventory.Vlans.Select(v => v.Id).Order());
        Assert.Empty(inventory.Fdb);
    }

    [Fact]
    public async Task Audit_SnmpdProxyingTheBridgeTables_SwitchVerifiedAndClean()
    {
        await using var ns = await SwitchNamespace.CreateAsync(("swpa1", 10), ("swpa2", 10), ("swpb1", 20));

        var result = await new SiteAudit(TimeProvider.System).RunAsync(Policy(ns), null, CancellationToken.None);

        var poll = Assert.Single(result.Switches);
        Assert.True(poll.Reachable, poll.Error);
        Assert.Empty(result.Findings);
    }

    [Fact]
    public async Task Audit_SnmpdWithIfMibAlone_WherePolicyNamesPorts_SwitchUnverified()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpb1");

        var result = await new SiteAudit(TimeProvider.System).RunAsync(Policy(ns), null, CancellationToken.None);

        var poll = Assert.Single(result.Switches);
        Assert.False(poll.Reachable);
        Assert.Contains("reports no port at all, though the policy names 3 on it", poll.Error, StringComparison.Ordinal);
        Assert.Equal([RuleIds.SwitchUnreachable], result.Findings.Select(f => f.Rule));
    }
}
