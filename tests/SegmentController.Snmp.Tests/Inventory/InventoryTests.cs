using System.Text;
using System.Text.Json;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Tests.Inventory;

public sealed class InventoryTests(SnmpsimFixture fixture) : IClassFixture<SnmpsimFixture>
{
    private async Task<SwitchInventory> CollectAsync(string community, IInventoryDriver driver, int maxRepetitions = 10)
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(community));
        return await driver.CollectAsync(client, community + "-sw", maxRepetitions, includeFdb: true, CancellationToken.None);
    }

    [Fact]
    public async Task QBridge_BridgePortsDifferFromIfIndex_PortsKeyedByIfIndex()
    {
        var inventory = await CollectAsync("qbridge", new QBridgeDriver());
        Assert.Equal(Enumerable.Range(1001, 8), inventory.Ports.Select(p => p.IfIndex));
        var port1 = inventory.FindPort("ge-0/0/1")!;
        Assert.Equal(1001, port1.IfIndex);
        Assert.Equal("alpha desk 1", port1.Alias);
        Assert.Equal(PortMode.Access, port1.Mode);
        Assert.Equal(10, port1.AccessVlan);
        Assert.Empty(port1.TaggedVlans);
        var port7 = inventory.FindPort("ge-0/0/7")!;
        Assert.Equal(("down", "down"), (port7.Admin, port7.Oper));
    }

    [Fact]
    public async Task QBridge_UplinkTrunk_HasPvidAndTaggedVlansIncludingCurrentOnlyVlan()
    {
        var inventory = await CollectAsync("qbridge", new QBridgeDriver());
        var uplink = inventory.FindPort("ge-0/0/6")!;
        Assert.Equal(PortMode.Trunk, uplink.Mode);
        Assert.Equal(99, uplink.AccessVlan);
        Assert.Equal([10, 20, 30], uplink.TaggedVlans);
        Assert.Contains(inventory.Vlans, v => v.Id == 30 && v.Name is null);
        Assert.Contains(inventory.Vlans, v => v.Id == 10 && v.Name == "alpha");
    }

    [Fact]
    public async Task QBridge_FdbIdsDifferFromVlanIds_MappedToVlanAndIfIndex()
    {
        var inventory = await CollectAsync("qbridge", new QBridgeDriver());
        Assert.Contains(new FdbEntry("00:00:5e:00:53:02", 10, 1005), inventory.Fdb);
        Assert.Contains(new FdbEntry("00:00:5e:00:53:04", 20, 1004), inventory.Fdb);
        Assert.Equal(5, inventory.Fdb.Count);
        Assert.DoesNotContain(inventory.Fdb, f => f.Vlan > 100);
    }

    [Fact]
    public async Task QBridge_MaxRepetitionsOne_SameInventory()
    {
        var wide = await CollectAsync("qbridge", new QBridgeDriver(), 25);
        var narrow = await CollectAsync("qbridge", new QBridgeDriver(), 1);
        Assert.Equal(Json(wide), Json(narrow));
    }

    [Fact]
    public async Task Cisco_AccessTrunkAndPerVlanFdb()
    {
        var inventory = await CollectAsync("cisco", new CiscoDriver());
        Assert.Equal(6, inventory.Ports.Count);
        var access = inventory.FindPort("Gi1/0/3")!;
        Assert.Equal((PortMode.Access, 20), (access.Mode, access.AccessVlan));
        var uplink = inventory.FindPort("Gi1/0/5")!;
        Assert.Equal((PortMode.Trunk, 99), (uplink.Mode, uplink.AccessVlan));
        Assert.Equal([10, 20], uplink.TaggedVlans);
        Assert.Contains(inventory.Vlans, v => v.Id == 1002);
        // Bridge port 3 is Gi1/0/5 in VLAN 10's instance; bridge port 2 is Gi1/0/4 in VLAN 20's.
        Assert.Contains(new FdbEntry("00:00:5e:00:53:1a", 10, 10105), inventory.Fdb);
        Assert.Contains(new FdbEntry("00:00:5e:00:53:14", 20, 10104), inventory.Fdb);
        Assert.Equal(4, inventory.Fdb.Count);
    }

    [Fact]
    public async Task InventoryJson_HasTheDocumentedShape()
    {
        var inventory = await CollectAsync("qbridge", new QBridgeDriver());
        using var document = JsonDocument.Parse(Json(inventory));
        var root = document.RootElement;
        Assert.Equal(["switch", "ports", "vlans", "fdb"], root.EnumerateObject().Select(p => p.Name));
        var port = root.GetProperty("ports")[0];
        Assert.Equal(["if_index", "name", "alias", "admin", "oper", "mode", "access_vlan", "tagged_vlans", "untagged_vlans"], port.EnumerateObject().Select(p => p.Name));
        Assert.Equal("access", port.GetProperty("mode").GetString());
        Assert.Equal(["id", "name"], root.GetProperty("vlans")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["mac", "vlan", "if_index"], root.GetProperty("fdb")[0].EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("1.3.6.1.4.1.99999.9")]
    [InlineData("1.3.6.1.2.1.17")]
    [InlineData("1.3.6.1.2.1.2.2")]
    public async Task Walk_AuthoredData_EqualsSnmpbulkwalkOutput(string root)
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c("qbridge"));
        var ours = await TableWalker.WalkSubtreeAsync(client, Oid.Parse(root), 10);
        var theirs = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", "qbridge", "-On", fixture.Agent.Target, root);
        Assert.Equal(theirs, string.Concat(ours.Select(v => v + "\n")));
    }

    private static string Json(SwitchInventory inventory)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            InventoryJson.Write(writer, inventory);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
