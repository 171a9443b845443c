using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Tests.Inventory;

/// <summary>The Cisco switch over SNMPv3 (SHA-256, AES), its per-VLAN BRIDGE-MIB instances as contexts <c>vlan-N</c>.</summary>
public sealed class CiscoV3ContextTests(SnmpsimCiscoV3Fixture fixture) : IClassFixture<SnmpsimCiscoV3Fixture>
{
    private static SnmpCredentials Credentials(string context = "") => new()
    {
        Version = SnmpVersion.V3,
        User = SnmpsimAgent.V3User,
        AuthProtocol = SnmpAuthProtocol.Sha256,
        AuthPassphrase = SnmpdAgent.AuthPass,
        PrivProtocol = SnmpPrivProtocol.Aes128,
        PrivPassphrase = SnmpdAgent.PrivPass,
        Context = context,
    };

    [Fact]
    public async Task CiscoInventoryOverV3_ReadsEachVlansFdbThroughItsContext()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, Credentials(), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(5) });
        var recording = new RecordingSnmpClient(client);
        var inventory = await new CiscoDriver().CollectAsync(recording, "cisco-sw2", 10, includeFdb: true, CancellationToken.None);

        // The same port model as through community string indexing (InventoryTests.Cisco_AccessTrunkAndPerVlanFdb).
        Assert.Equal(6, inventory.Ports.Count);
        Assert.Equal((PortMode.Access, 20), (inventory.FindPort("Gi1/0/3")!.Mode, inventory.FindPort("Gi1/0/3")!.AccessVlan));
        Assert.Equal([10, 20], inventory.FindPort("Gi1/0/5")!.TaggedVlans);
        Assert.Contains(new FdbEntry("00:00:5e:00:53:1a", 10, 10105), inventory.Fdb);
        Assert.Contains(new FdbEntry("00:00:5e:00:53:14", 20, 10104), inventory.Fdb);
        Assert.Equal(4, inventory.Fdb.Count);

        // The VTP and port tables in the default context, each operational VLAN's FDB in its own (not 1002–1005).
        var contexts = recording.Requests.Select(r => r.Context).Distinct().ToArray();
        Assert.Equal(new string?[] { null, "vlan-1", "vlan-10", "vlan-20", "vlan-99" }, contexts);
        Assert.Equal(0, client.Statistics.AuthenticationFailures);
    }

    [Theory]
    [InlineData("vlan-10", "1.3.6.1.2.1.17")]
    [InlineData("vlan-20", "1.3.6.1.2.1.17.4.3.1.2")]
    [InlineData("", "1.3.6.1.4.1.9.9.68")]
    public async Task V3WalkInAContext_EqualsSnmpbulkwalkWithContextName(string context, string oid)
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, Credentials(context));
        var ours = await TableWalker.WalkSubtreeAsync(client, Oid.Parse(oid), 10);
        var theirs = await ExternalProcess.CheckedAsync(
            "snmpbulkwalk", "-v3", "-l", "authPriv", "-u", SnmpsimAgent.V3User, "-a", "SHA-256", "-A", SnmpdAgent.AuthPass, "-x", "AES", "-X", SnmpdAgent.PrivPass,
            "-n", context, "-On", fixture.Agent.Target, oid);
        Assert.NotEmpty(ours);
        Assert.Equal(theirs, string.Concat(ours.Select(v => v + "\n")));
    }

    [Fact]
    public async Task ContextOfOneVlan_SeesThatVlansBridgePortNumbering()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, Credentials());
        var ten = await client.GetAsync([Mib.Dot1dBasePortIfIndex.Append(3)], SnmpContext.CiscoVlan(10));
        var twenty = await client.GetAsync([Mib.Dot1dBasePortIfIndex.Append(2)], SnmpContext.CiscoVlan(20));
        Assert.Equal((10105L, 10104L), (ten[0].Value.Number, twenty[0].Value.Number));
    }
}
