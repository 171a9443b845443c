using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Checks;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Polling;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Snmp.Tests.Checks;

public sealed class IsolationCheckTests(SnmpsimFixture fixture) : IClassFixture<SnmpsimFixture>
{
    private SitePolicy Policy() => TestPolicies.Site(
        TestPolicies.V2cSwitch("qbridge-sw1", fixture.Agent.Port, "qbridge", SwitchProfile.QBridge),
        TestPolicies.V2cSwitch("cisco-sw2", fixture.Agent.Port, "cisco", SwitchProfile.Cisco));

    private static IEnumerable<(string Rule, string? Port)> Keys(IEnumerable<Finding> findings, string switchName) =>
        findings.Where(f => Equals(f.Evidence.GetValueOrDefault("switch"), switchName))
            .Select(f => (f.Rule, f.Evidence.GetValueOrDefault("port") as string))
            .Order();

    [Fact]
    public async Task QBridgeSwitch_EachSeededViolation_FoundOncePerPort()
    {
        var result = await new SiteAudit(TimeProvider.System).RunAsync(Policy(), null, CancellationToken.None);
        (string, string?)[] expected =
        [
            (RuleIds.ForeignMac, "ge-0/0/4"),
            (RuleIds.ForeignMac, "ge-0/0/5"),
            (RuleIds.InsecureSnmp, null),
            (RuleIds.PortSharedByClients, "ge-0/0/8"),
            (RuleIds.PortVlanMismatch, "ge-0/0/4"),
            (RuleIds.TrunkCarriesForeignVlan, "ge-0/0/6"),
            (RuleIds.TrunkCarriesForeignVlan, "ge-0/0/8"),
            (RuleIds.UnassignedPortInClientVlan, "ge-0/0/5"),
        ];
        Assert.Equal(expected.Order(), Keys(result.Findings, "qbridge-sw1"));
        var mismatch = result.Findings.Single(f => f.Rule == RuleIds.PortVlanMismatch && Equals(f.Evidence["switch"], "qbridge-sw1"));
        Assert.Equal(Severity.Critical, mismatch.Severity);
        Assert.Equal(["alpha", "bravo"], mismatch.Clients);
        Assert.Equal(1004, mismatch.Evidence["if_index"]);
        Assert.Equal(20, mismatch.Evidence["vlan"]);
        var foreignMac = result.Findings.Single(f => f.Rule == RuleIds.ForeignMac && Equals(f.Evidence["port"], "ge-0/0/5"));
        Assert.Equal("00:00:5e:00:53:02", foreignMac.Evidence["mac"]);
        Assert.Equal(["alpha"], foreignMac.Clients);
        // On a client's port, its owner is concerned as well as the VLAN's.
        var onAlphasPort = result.Findings.Single(f => f.Rule == RuleIds.ForeignMac && Equals(f.Evidence["switch"], "qbridge-sw1") && Equals(f.Evidence["port"], "ge-0/0/4"));
        Assert.Equal(["alpha", "bravo"], onAlphasPort.Clients);
        var foreignVlan = result.Findings.Single(f => f.Rule == RuleIds.TrunkCarriesForeignVlan && Equals(f.Evidence["port"], "ge-0/0/6"));
        Assert.Equal(30, foreignVlan.Evidence["vlan"]);
    }

    [Fact]
    public async Task SwitchAnsweringWithNoPortAtAll_WherePolicyNamesPorts_UnverifiedNeverJustDrift()
    {
        // An agent that answers but serves none of the tables the profile reads (a view that excludes BRIDGE-MIB,
        // the wrong profile): no port can be judged, so no isolation is shown; that is no inventory, not drift.
        var policy = TestPolicies.Site(TestPolicies.V2cSwitch("qbridge-sw1", fixture.Agent.Port, "walk-exceptions", SwitchProfile.QBridge));

        var result = await new SiteAudit(TimeProvider.System).RunAsync(policy, null, CancellationToken.None);

        var poll = Assert.Single(result.Switches);
        Assert.False(poll.Reachable);
        Assert.Contains("reports no port", poll.Error, StringComparison.Ordinal);
        Assert.Equal([RuleIds.InsecureSnmp, RuleIds.SwitchUnreachable], result.Findings.Select(f => f.Rule).Order());
    }

    [Fact]
    public async Task CiscoSwitch_EachSeededViolation_FoundOncePerPort()
    {
        var result = await new SiteAudit(TimeProvider.System).RunAsync(Policy(), null, CancellationToken.None);
        (string, string?)[] expected =
        [
            (RuleIds.ForeignMac, "Gi1/0/4"),
            (RuleIds.InsecureSnmp, null),
            (RuleIds.PortSharedByClients, "Gi1/0/6"),
            (RuleIds.PortVlanMismatch, "Gi1/0/4"),
            (RuleIds.TrunkCarriesForeignVlan, "Gi1/0/6"),
        ];
        Assert.Equal(expected.Order(), Keys(result.Findings, "cisco-sw2"));
    }

    [Fact]
    public async Task SilentSwitch_IsUnreachableNeverClean()
    {
        var silent = TestPolicies.V2cSwitch("qbridge-sw1", FreePort.Udp(), "qbridge", SwitchProfile.QBridge) with { Timeout = TimeSpan.FromMilliseconds(200), Retries = 0 };
        var result = await new SiteAudit(TimeProvider.System).RunAsync(TestPolicies.Site(silent), null, CancellationToken.None);
        var unreachable = Assert.Single(result.Findings, f => f.Rule == RuleIds.SwitchUnreachable);
        Assert.Equal(["alpha", "bravo"], unreachable.Clients);
        Assert.False(result.Switches[0].Reachable);
        Assert.Contains("qbridge-sw1", unreachable.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongCommunity_IsUnreachable()
    {
        var wrong = TestPolicies.V2cSwitch("cisco-sw2", fixture.Agent.Port, "no-such-data", SwitchProfile.Cisco) with { Timeout = TimeSpan.FromMilliseconds(300), Retries = 0 };
        var result = await new SiteAudit(TimeProvider.System).RunAsync(TestPolicies.Site(wrong), null, CancellationToken.None);
        Assert.Contains(result.Findings, f => f.Rule == RuleIds.SwitchUnreachable);
    }

    [Fact]
    public async Task ChangedSincePreviousPoll_InventoryDrift()
    {
        var policy = Policy();
        var first = await new SiteAudit(TimeProvider.System).RunAsync(policy, null, CancellationToken.None);
        var inventory = first.Switches.Single(s => s.Switch == "qbridge-sw1").Inventory!;
        var earlier = inventory with { Ports = inventory.Ports.Select(p => p.Name == "ge-0/0/1" ? p with { AccessVlan = 99 } : p).ToArray() };
        var second = await new SiteAudit(TimeProvider.System).RunAsync(policy, new Dictionary<string, SwitchInventory> { ["qbridge-sw1"] = earlier }, CancellationToken.None);
        var drift = Assert.Single(second.Findings, f => f.Rule == RuleIds.InventoryDrift);
        Assert.Equal("ge-0/0/1", drift.Evidence["port"]);
        Assert.Contains("access VLAN 99→10", drift.Summary, StringComparison.Ordinal);
        Assert.Equal(Severity.Info, drift.Severity);
    }

    [Fact]
    public void CleanSwitch_NoFindings()
    {
        var policy = TestPolicies.Site(TestPolicies.V2cSwitch("qbridge-sw1", 1, "x", SwitchProfile.QBridge) with
        {
            Snmp = new SnmpSettings { Version = SnmpVersion.V3, User = "u", AuthProtocol = SnmpAuthProtocol.Sha256, PrivProtocol = SnmpPrivProtocol.Aes128 },
        });
        var inventory = new SwitchInventory
        {
            Switch = "qbridge-sw1",
            Ports =
            [
                new SwitchPort { IfIndex = 1, Name = "ge-0/0/1", AccessVlan = 10 },
                new SwitchPort { IfIndex = 2, Name = "ge-0/0/2", AccessVlan = 10 },
                new SwitchPort { IfIndex = 3, Name = "ge-0/0/3", AccessVlan = 20 },
                new SwitchPort { IfIndex = 4, Name = "ge-0/0/4", AccessVlan = 10 },
                new SwitchPort { IfIndex = 6, Name = "ge-0/0/6", Mode = PortMode.Trunk, AccessVlan = 99, TaggedVlans = [10, 20] },
                new SwitchPort { IfIndex = 7, Name = "ge-0/0/7", AccessVlan = 20 },
                new SwitchPort { IfIndex = 8, Name = "ge-0/0/8", AccessVlan = 10 },
            ],
            Vlans = [new VlanInfo(10, "alpha"), new VlanInfo(20, "bravo"), new VlanInfo(99, "mgmt")],
            Fdb = [new FdbEntry("00:00:5e:00:53:01", 10, 1), new FdbEntry("00:00:5e:00:53:09", 20, 6)],
        };
        Assert.Empty(IsolationChecker.Check(policy, policy.Switches[0], inventory, inventory, DateTimeOffset.UnixEpoch));
        Assert.Null(IsolationChecker.Insecure(policy, policy.Switches[0], DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public async Task InsecureSnmp_NamesTheClientsWithPortsOnTheSwitch()
    {
        var result = await new SiteAudit(TimeProvider.System).RunAsync(Policy(), null, CancellationToken.None);
        var insecure = result.Findings.Where(f => f.Rule == RuleIds.InsecureSnmp).ToArray();
        Assert.Equal(2, insecure.Length);
        Assert.All(insecure, f => Assert.Equal(["alpha", "bravo"], f.Clients));
        Assert.All(insecure, f => Assert.Contains("SNMPv2c", f.Summary, StringComparison.Ordinal));
    }

    [Fact]
    public async Task InconsistentSwitchData_UnreachableNeverClean()
    {
        var policy = TestPolicies.Site(TestPolicies.V2cSwitch("qbridge-sw1", fixture.Agent.Port, "qbridge-dup", SwitchProfile.QBridge));
        var result = await new SiteAudit(TimeProvider.System).RunAsync(policy, null, CancellationToken.None);
        Assert.False(result.Switches[0].Reachable);
        Assert.Contains("bridge ports 3 and 5 both map to ifIndex 1003", result.Switches[0].Error, StringComparison.Ordinal);
        var unreachable = Assert.Single(result.Findings, f => f.Rule == RuleIds.SwitchUnreachable);
        Assert.Equal(["alpha", "bravo"], unreachable.Clients);
        Assert.Contains("inconsistent data", unreachable.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Findings, f => f.Rule is not (RuleIds.SwitchUnreachable or RuleIds.InsecureSnmp));
    }

    [Fact]
    public void InventoryTheChecksCannotJudge_SwitchUnverifiedWithAFinding()
    {
        var policy = Policy();
        SwitchPort Port(int ifIndex, string name) => new() { IfIndex = ifIndex, Name = name, AccessVlan = 10 };
        var broken = new SwitchInventory
        {
            Switch = "qbridge-sw1",
            Ports = [Port(1, "ge-0/0/1"), Port(1, "ge-0/0/2")],
            Vlans = [new VlanInfo(10, "alpha")],
            Fdb = [new FdbEntry("00:00:5e:00:53:01", 10, 1)],
        };
        var poll = new SwitchPollResult("qbridge-sw1", broken, null, TimeSpan.FromSeconds(1));
        var judged = SwitchJudge.Judge(policy, policy.Switches[0], poll, null, DateTimeOffset.UnixEpoch);
        Assert.False(judged.Verified);
        Assert.Null(judged.Poll.Inventory);
        Assert.Contains("ifIndex 1 (ge-0/0/2) is reported for two ports", judged.Poll.Error, StringComparison.Ordinal);
        var unreachable = Assert.Single(judged.Findings, f => f.Rule == RuleIds.SwitchUnreachable);
        Assert.Contains("cannot be checked", unreachable.Summary, StringComparison.Ordinal);
        Assert.Contains(judged.Findings, f => f.Rule == RuleIds.InsecureSnmp);
    }
}
