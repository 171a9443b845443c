using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Checks;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Tests.Inventory;

/// <summary>
/// Well-formed answers that say impossible or contradictory things (Data/generate.py, "hostile variants"),
/// served by snmpsimd: refused with a named error when the port model would lie, inventoried otherwise —
/// never a crash.
/// </summary>
public sealed class HostileInventoryTests(SnmpsimFixture fixture) : IClassFixture<SnmpsimFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private async Task<SwitchInventory> CollectAsync(string community, IInventoryDriver driver)
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(community), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(5) });
        return await driver.CollectAsync(client, community, 10, includeFdb: true, CancellationToken.None).WaitAsync(Bound);
    }

    [Theory]
    [InlineData("qbridge-dup", "bridge ports 3 and 5 both map to ifIndex 1003 (dot1dBasePortIfIndex)")]
    [InlineData("qbridge-negif", "bridge port 2 maps to ifIndex -5 (dot1dBasePortIfIndex); an ifIndex is at least 1")]
    [InlineData("qbridge-strif", "dot1dBasePortIfIndex.2 is OctetString, not an INTEGER")]
    [InlineData("qbridge-vlan4095", "VLAN 4095 in the VLAN table is not a VLAN id")]
    [InlineData("qbridge-pvid0", "VLAN 0 in port ge-0/0/1 is not a VLAN id")]
    [InlineData("qbridge-badmac", ".1.3.6.1.2.1.17.7.1.2.2.1.2.110.0.0.94.0.83.300 does not have the index of dot1qTpFdbTable")]
    [InlineData("qbridge-hugeidx", ".1.3.6.1.2.1.31.1.1.1.1.4294967295 does not have the index of .1.3.6.1.2.1.31.1.1.1.1")]
    public async Task QBridge_ContradictoryOrImpossibleTables_RefusedWithNamedError(string community, string detail)
    {
        var e = await Assert.ThrowsAsync<SnmpException>(() => CollectAsync(community, new QBridgeDriver()));
        Assert.Equal(SnmpErrorKind.InconsistentData, e.Kind);
        Assert.Contains($"switch {community} reports inconsistent data: {detail}", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("its port model cannot be trusted", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cisco_AccessPortInVlan4095_RefusedWithNamedError()
    {
        var e = await Assert.ThrowsAsync<SnmpException>(() => CollectAsync("cisco-vlan4095", new CiscoDriver()));
        Assert.Equal(SnmpErrorKind.InconsistentData, e.Kind);
        Assert.Contains("VLAN 4095 in port Gi1/0/3 is not a VLAN id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QBridge_OddButUnambiguousTables_Inventoried()
    {
        var inventory = await CollectAsync("qbridge-odd", new QBridgeDriver());
        Assert.Equal(9, inventory.Ports.Count);
        // The largest ifIndex there is, named by ifDescr since its ifName is empty, in no VLAN.
        var last = inventory.Ports[^1];
        Assert.Equal((int.MaxValue, "ge-0/0/9", (int?)null, PortMode.Access), (last.IfIndex, last.Name, last.AccessVlan, last.Mode));
        // A one-octet bitmap for VLAN 10 (ports 1 and 2); forty octets for VLAN 20 with a bit for bridge port 200, ignored.
        Assert.Equal([20, 30], inventory.FindPort("ge-0/0/6")!.TaggedVlans);
        Assert.Equal([20], inventory.FindPort("ge-0/0/8")!.TaggedVlans);
        Assert.Equal((PortMode.Access, 10), (inventory.FindPort("ge-0/0/1")!.Mode, inventory.FindPort("ge-0/0/1")!.AccessVlan));
        // A VLAN local to the agent (above 4095) is a VLAN like any other, which no client can own.
        Assert.Contains(inventory.Vlans, v => v.Id == 5000);
        Assert.Equal([5000], inventory.FindPort("ge-0/0/7")!.TaggedVlans);
        // A MAC on a bridge port that does not exist has no port; one in an FDB no VLAN maps keeps the FDB id.
        Assert.Contains(new FdbEntry("00:00:5e:00:53:77", 10, null), inventory.Fdb);
        Assert.Contains(new FdbEntry("00:00:5e:00:53:78", 42, 1002), inventory.Fdb);
        Assert.Equal(7, inventory.Fdb.Count);
    }

    [Fact]
    public async Task QBridge_PortUntaggedInAVlanBesidesItsPvid_CarriesThatVlan_AndIsReported()
    {
        // alpha's ge-0/0/1 (PVID 10) egresses bravo's VLAN 20 untagged, ge-0/0/2 (PVID 10) management VLAN 99:
        // each forwards that VLAN's frames to its station, so each carries that VLAN.
        var inventory = await CollectAsync("qbridge-hybrid", new QBridgeDriver());
        var first = inventory.FindPort("ge-0/0/1")!;
        var second = inventory.FindPort("ge-0/0/2")!;
        Assert.Equal((PortMode.Trunk, 10), (first.Mode, first.AccessVlan));
        Assert.Equal([20], first.UntaggedVlans);
        Assert.Equal([10, 20], first.AllVlans.Order());
        Assert.Empty(first.TaggedVlans);
        Assert.Equal([10, 99], second.AllVlans.Order());
        // A port untagged in its PVID alone is still an access port.
        Assert.Equal((PortMode.Access, 20, 0), (inventory.FindPort("ge-0/0/3")!.Mode, inventory.FindPort("ge-0/0/3")!.AccessVlan, inventory.FindPort("ge-0/0/3")!.UntaggedVlans.Count));

        // The test site, whose qbridge-sw1 this switch is.
        var policy = TestPolicies.Site(TestPolicies.V2cSwitch("qbridge-sw1", fixture.Agent.Port, "qbridge-hybrid", SwitchProfile.QBridge));
        var findings = IsolationChecker.Check(policy, policy.Switches[0], inventory, null, DateTimeOffset.UnixEpoch);
        var shared = Assert.Single(findings, f => f.Rule == RuleIds.PortSharedByClients && Equals(f.Evidence["port"], "ge-0/0/1"));
        Assert.Equal(["alpha", "bravo"], shared.Clients);
        var management = Assert.Single(findings, f => f.Rule == RuleIds.TrunkCarriesForeignVlan && Equals(f.Evidence["port"], "ge-0/0/2"));
        Assert.Equal(99, management.Evidence["vlan"]);
        // Untagged memberships are access memberships: a foreign one on a client's port is a port-vlan-mismatch, as on
        // an access port, whether it is the PVID (ge-0/0/4, bravo's 20, with alpha's 10 besides) or another (ge-0/0/2).
        var pvid = Assert.Single(findings, f => f.Rule == RuleIds.PortVlanMismatch && Equals(f.Evidence["port"], "ge-0/0/4"));
        Assert.Equal(Severity.Critical, pvid.Severity);
        Assert.Equal(20, pvid.Evidence["vlan"]);
        Assert.Equal(["alpha", "bravo"], pvid.Clients);
        var untaggedManagement = Assert.Single(findings, f => f.Rule == RuleIds.PortVlanMismatch && Equals(f.Evidence["port"], "ge-0/0/2"));
        Assert.Equal(99, untaggedManagement.Evidence["vlan"]);
        Assert.Equal("qbridge-sw1 port ge-0/0/2 of alpha is an access member of VLAN 99, which is no client's", untaggedManagement.Summary);
    }

    [Fact]
    public async Task Cisco_AccessPortWithAVoiceVlan_CarriesThatVlanTagged_AndIsReported()
    {
        // A phone port: access VLAN for the desk, a voice VLAN (vmVoiceVlanId) the phone tags. Another client's or the
        // management VLAN as the voice VLAN of a client's port reaches that port all the same.
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c("cisco-voice"), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(5) });
        var inventory = await new CiscoDriver().CollectAsync(client, "cisco-voice", 10, includeFdb: false, CancellationToken.None).WaitAsync(Bound);
        var bravosVoice = inventory.FindPort("Gi1/0/1")!;
        Assert.Equal((PortMode.Access, 10), (bravosVoice.Mode, bravosVoice.AccessVlan));
        Assert.Equal([20], bravosVoice.TaggedVlans);
        Assert.Equal([99], inventory.FindPort("Gi1/0/2")!.TaggedVlans);
        // 4096 (no voice VLAN) and 4095 (priority-tagged in the access VLAN) carry nothing more.
        Assert.Empty(inventory.FindPort("Gi1/0/3")!.TaggedVlans);
        Assert.Empty(inventory.FindPort("Gi1/0/4")!.TaggedVlans);

        var policy = TestPolicies.Site(TestPolicies.V2cSwitch("cisco-sw2", fixture.Agent.Port, "cisco-voice", SwitchProfile.Cisco));
        var findings = IsolationChecker.Check(policy, policy.Switches[0], inventory, null, DateTimeOffset.UnixEpoch);
        var shared = Assert.Single(findings, f => f.Rule == RuleIds.PortSharedByClients && Equals(f.Evidence["port"], "Gi1/0/1"));
        Assert.Equal(["alpha", "bravo"], shared.Clients);
        var management = Assert.Single(findings, f => f.Rule == RuleIds.TrunkCarriesForeignVlan && Equals(f.Evidence["port"], "Gi1/0/2"));
        Assert.Equal(99, management.Evidence["vlan"]);
        Assert.Equal("cisco-sw2 port Gi1/0/2 carries VLAN 99 the policy does not expect on it", management.Summary);
        Assert.DoesNotContain(findings, f => Equals(f.Evidence.GetValueOrDefault("port"), "Gi1/0/3"));
    }

    [Fact]
    public async Task Cisco_OverlongBitmapAndUnassignedDynamicPort_Inventoried()
    {
        var inventory = await CollectAsync("cisco-odd", new CiscoDriver());
        Assert.Equal(2, inventory.Ports.Count);
        var trunk = inventory.FindPort("Gi1/0/1")!;
        // Bits past the 128 octets of the first bitmap (VLAN 1030 there) are ignored; VTP knows 1002 and 1003.
        Assert.Equal((PortMode.Trunk, 1003), (trunk.Mode, trunk.AccessVlan));
        Assert.Equal([1002], trunk.TaggedVlans);
        var dynamic = inventory.FindPort("Gi1/0/2")!;
        Assert.Equal((PortMode.Access, (int?)null), (dynamic.Mode, dynamic.AccessVlan));
        Assert.Empty(inventory.Fdb);
    }
}
