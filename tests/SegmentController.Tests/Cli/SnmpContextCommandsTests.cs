using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl snmp walk|inventory</c> over SNMPv3 against snmpsimd serving the Cisco switch with per-VLAN contexts.</summary>
public sealed class SnmpContextCommandsTests(SnmpsimCiscoV3Fixture fixture) : IClassFixture<SnmpsimCiscoV3Fixture>
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    private static readonly string[] V3 =
    [
        "--user", SnmpsimAgent.V3User, "--auth-protocol", "SHA-256", "--auth-pass", SnmpdAgent.AuthPass,
        "--priv-protocol", "AES", "--priv-pass", SnmpdAgent.PrivPass,
    ];

    [Theory]
    [InlineData("vlan-10")]
    [InlineData("vlan-20")]
    public async Task WalkWithContext_EqualsSnmpbulkwalkWithContextName(string context)
    {
        var (exit, output, error) = await RunAsync(["snmp", "walk", "--target", fixture.Agent.Target, .. V3, "--context", context, "1.3.6.1.2.1.17"]);
        Assert.True(exit == 0, error);
        var reference = await ExternalProcess.CheckedAsync(
            "snmpbulkwalk", "-v3", "-l", "authPriv", "-u", SnmpsimAgent.V3User, "-a", "SHA-256", "-A", SnmpdAgent.AuthPass, "-x", "AES", "-X", SnmpdAgent.PrivPass,
            "-n", context, "-On", fixture.Agent.Target, "1.3.6.1.2.1.17");
        Assert.Contains(".1.3.6.1.2.1.17.4.3.1.2.", output, StringComparison.Ordinal);
        Assert.Equal(reference, output);
        Assert.Equal("", error);
    }

    [Fact]
    public async Task WalkWithoutContext_DefaultContextHasNoPerVlanBridgeTable()
    {
        var (exit, output, error) = await RunAsync(["snmp", "walk", "--target", fixture.Agent.Target, .. V3, "1.3.6.1.2.1.17.4.3.1.2"]);
        Assert.True(exit == 0, error);
        var inVlan10 = await RunAsync(["snmp", "walk", "--target", fixture.Agent.Target, .. V3, "--context", "vlan-10", "1.3.6.1.2.1.17.4.3.1.2"]);
        Assert.DoesNotContain(".1.3.6.1.2.1.17.4.3.1.2.0.0.94", output, StringComparison.Ordinal);
        Assert.Contains(".1.3.6.1.2.1.17.4.3.1.2.0.0.94.0.83.26 = INTEGER: 3", inVlan10.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CiscoInventoryOverV3_FdbOfEveryVlanThroughItsContext()
    {
        var (exit, output, error) = await RunAsync(["snmp", "inventory", "--target", fixture.Agent.Target, "--profile", "cisco", .. V3, "--json"]);
        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        var fdb = json.RootElement.GetProperty("fdb").EnumerateArray().Select(f => (f.GetProperty("mac").GetString(), f.GetProperty("vlan").GetInt32(), f.GetProperty("if_index").GetInt32())).ToArray();
        Assert.Equal(4, fdb.Length);
        Assert.Contains(("00:00:5e:00:53:1a", 10, 10105), fdb);
        Assert.Contains(("00:00:5e:00:53:14", 20, 10104), fdb);
        Assert.Equal(6, json.RootElement.GetProperty("ports").GetArrayLength());
    }
}
