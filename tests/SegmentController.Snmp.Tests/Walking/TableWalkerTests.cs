using System.Globalization;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Tests.Walking;

/// <summary>GETBULK walks against snmpsimd serving the authored data, with net-snmp's snmpbulkwalk as the reference.</summary>
public sealed class TableWalkerTests(SnmpsimFixture fixture) : IClassFixture<SnmpsimFixture>
{
    private static readonly Oid[] InterfaceColumns = [Mib.IfDescr, Mib.IfAdminStatus, Mib.IfOperStatus, Mib.IfName, Mib.IfAlias];

    private static readonly Oid[] BridgeColumns =
    [
        Mib.Dot1dBasePortIfIndex, Mib.Dot1qPvid, Mib.Dot1qVlanStaticName, Mib.Dot1qVlanStaticEgressPorts,
        Mib.Dot1qVlanStaticUntaggedPorts, Mib.Dot1qVlanFdbId, Mib.Dot1qVlanCurrentEgressPorts, Mib.Dot1qVlanCurrentUntaggedPorts,
    ];

    private Task<SnmpClient> ConnectAsync(string community) =>
        SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(community), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(5), Retries = 1 });

    [Fact]
    public async Task FiveColumnWalk_EachGetBulkCarriesEveryColumn()
    {
        // Nine interfaces, three rows per column per request: three requests of rows and one that leaves the table.
        await using var together = await ConnectAsync("qbridge");
        var walked = await TableWalker.WalkAsync(together, InterfaceColumns, 3);
        Assert.Equal(4, together.Statistics.Requests);

        await using var apart = await ConnectAsync("qbridge");
        foreach (var column in InterfaceColumns)
        {
            var alone = await TableWalker.WalkAsync(apart, [column], 3);
            Assert.Equal(9, walked[column].Count);
            Assert.Equal(alone[column].Select(v => v.ToString()), walked[column].Select(v => v.ToString()));
        }

        Assert.Equal(20, apart.Statistics.Requests);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    [InlineData(200)]
    public async Task Walk_SendsTheConfiguredMaxRepetitions_AgentTruncationStillGivesEveryRow(int maxRepetitions)
    {
        await using var client = await ConnectAsync("qbridge");
        var recording = new RecordingSnmpClient(client);
        var walked = await TableWalker.WalkAsync(recording, BridgeColumns, maxRepetitions);
        // snmpsimd answers at most 64 bindings (8 columns × 8 rows): the walk carries on from there.
        Assert.All(recording.Requests, r => Assert.Equal((PduType.GetBulkRequest, maxRepetitions), (r.Type, r.MaxRepetitions)));

        await using var reference = await ConnectAsync("qbridge");
        foreach (var column in BridgeColumns)
        {
            var theirs = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", "qbridge", "-On", "-Cr1", fixture.Agent.Target, column.ToDotted());
            Assert.Equal(theirs, string.Concat(walked[column].Select(v => v + "\n")));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(201)]
    public async Task MaxRepetitionsOutsideOneTo200_ConfigurationError(int maxRepetitions)
    {
        await using var client = await ConnectAsync("qbridge");
        var e = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkAsync(client, InterfaceColumns, maxRepetitions));
        Assert.Equal(SnmpErrorKind.Configuration, e.Kind);
        Assert.Contains("max-repetitions must be from 1 to 200", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.Statistics.Sent);
    }

    [Fact]
    public async Task ColumnWalk_ExceptionValueEndsTheColumnAndIsNotARow()
    {
        var noSuchInstance = Oid.Parse("1.3.6.1.4.1.99999.11.1");
        var noSuchObject = Oid.Parse("1.3.6.1.4.1.99999.12.1");
        var last = Oid.Parse("1.3.6.1.4.1.99999.13");
        await using var client = await ConnectAsync("walk-exceptions");
        var walked = await TableWalker.WalkAsync(client, [noSuchInstance, noSuchObject, last], 10);
        Assert.Equal(["1.3.6.1.4.1.99999.11.1.1"], walked[noSuchInstance].Select(v => v.Oid.ToDotted()));
        Assert.Equal(["1.3.6.1.4.1.99999.12.1.1"], walked[noSuchObject].Select(v => v.Oid.ToDotted()));
        // The last record of the agent, then endOfMibView: one row.
        Assert.Equal(["1.3.6.1.4.1.99999.13.0"], walked[last].Select(v => v.Oid.ToDotted()));
        Assert.DoesNotContain(walked.Values.SelectMany(v => v), v => v.Value.IsException);
    }

    [Theory]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999.11", 10)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999.11", 2)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999.12", 1)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999", 10)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999", 2)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999.13", 10)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999.13", 1)]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999.13.0", 3)]
    [InlineData("qbridge", "1.3.6.1.2.1.1.3.0", 10)]
    [InlineData("qbridge", "1.3.6.1.2.1.1.1.0", 10)]
    [InlineData("qbridge", "1.3.6.1.2.1.1.99", 10)]
    [InlineData("qbridge", "1.3.6.1.2.1.1.5.0.7", 10)]
    [InlineData("qbridge", "1.3.6.1.9", 4)]
    public async Task SubtreeWalk_ExceptionsScalarsAndEmptySubtrees_EqualSnmpbulkwalk(string community, string oid, int maxRepetitions)
    {
        await using var client = await ConnectAsync(community);
        var ours = await TableWalker.WalkSubtreeAsync(client, Oid.Parse(oid), maxRepetitions);
        var theirs = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", community, "-On", $"-Cr{maxRepetitions.ToString(CultureInfo.InvariantCulture)}", fixture.Agent.Target, oid);
        Assert.NotEmpty(ours);
        Assert.Equal(theirs, string.Concat(ours.Select(v => v + "\n")));
    }
}
