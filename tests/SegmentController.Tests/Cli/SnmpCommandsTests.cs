using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl snmp …</c> against real agents: snmpsimd serving the authored switches, and net-snmp's snmpd.</summary>
public sealed class SnmpCommandsTests(SnmpCliAgents agents) : IClassFixture<SnmpCliAgents>
{
    private readonly SnmpsimAgent _sim = agents.Sim;
    private readonly SnmpdAgent _snmpd = agents.Snmpd;
    private readonly string _directory = agents.Directory;

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("qbridge", "1.3.6.1.4.1.99999.9")]
    [InlineData("qbridge", "1.3.6.1.2.1.17.7.1.4")]
    [InlineData("cisco", "1.3.6.1.4.1.9.9.46.1.6.1.1")]
    public async Task Walk_EqualsSnmpbulkwalkOnTheSameAgent(string community, string oid)
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", _sim.Target, "--community", community, oid);
        Assert.True(exit == 0, error);
        var reference = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", community, "-On", _sim.Target, oid);
        Assert.Equal(reference, output);
    }

    [Fact]
    public async Task WalkV3AuthPriv_EqualsSnmpbulkwalk_PassPhrasesFromEnvironment()
    {
        Environment.SetEnvironmentVariable(SnmpCommands.AuthPassVariable, SnmpdAgent.AuthPass);
        Environment.SetEnvironmentVariable(SnmpCommands.PrivPassVariable, SnmpdAgent.PrivPass);
        try
        {
            var (exit, output, error) = await RunAsync("snmp", "walk", "--target", _snmpd.Target, "--user", "sha256", "--auth-protocol", "SHA-256", "--priv-protocol", "AES", "1.3.6.1.2.1.2.2.1.2");
            Assert.True(exit == 0, error);
            var reference = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v3", "-l", "authPriv", "-u", "sha256", "-a", "SHA-256", "-A", SnmpdAgent.AuthPass, "-x", "AES", "-X", SnmpdAgent.PrivPass, "-On", _snmpd.Target, "1.3.6.1.2.1.2.2.1.2");
            Assert.Equal(reference, output);
            Assert.DoesNotContain(SnmpdAgent.AuthPass, output + error, StringComparison.Ordinal);
            // SHA-256 with AES is what the insecure-snmp rule asks for: no warning.
            Assert.Equal("", error);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SnmpCommands.AuthPassVariable, null);
            Environment.SetEnvironmentVariable(SnmpCommands.PrivPassVariable, null);
        }
    }

    [Theory]
    [InlineData("snmpd", "1.3.6.1.2.1.1.1.0")]
    [InlineData("snmpd", "1.3.6.1.2.1.1.99")]
    [InlineData("snmpd", "1.3.6.1.2.1.1.1.0.5")]
    [InlineData("qbridge", "1.3.6.1.2.1.1.3.0")]
    [InlineData("qbridge", "1.3.6.1.2.1.1.99")]
    [InlineData("walk-exceptions", "1.3.6.1.4.1.99999")]
    public async Task WalkOfScalarMissingOidOrExceptionValues_EqualsSnmpbulkwalk(string agent, string oid)
    {
        var (target, community) = agent == "snmpd" ? (_snmpd.Target, SnmpdAgent.ReadCommunity) : (_sim.Target, agent);
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", target, "--community", community, oid);
        Assert.True(exit == 0, error);
        var reference = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", community, "-On", target, oid);
        Assert.NotEqual("", output);
        Assert.Equal(reference, output);
    }

    [Fact]
    public async Task WalkLegacyMd5Des_AllowLegacy_WarnsOnStderrThatTheCredentialsAreInsecure()
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", _snmpd.Target, "--user", "md5des", "--auth-protocol", "MD5", "--auth-pass", SnmpdAgent.AuthPass, "--priv-protocol", "DES", "--priv-pass", SnmpdAgent.PrivPass, "--allow-legacy", "1.3.6.1.2.1.1.1.0");
        Assert.True(exit == 0, error);
        Assert.Equal("segctl: warning: insecure-snmp: SNMPv3 with MD5 authentication (legacy); these credentials do not protect what is read from the switch\n", error.ReplaceLineEndings("\n"));
        var reference = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v3", "-l", "authPriv", "-u", "md5des", "-a", "MD5", "-A", SnmpdAgent.AuthPass, "-x", "DES", "-X", SnmpdAgent.PrivPass, "-On", _snmpd.Target, "1.3.6.1.2.1.1.1.0");
        Assert.Equal(reference, output);
    }

    [Fact]
    public async Task InventoryJsonOverV2c_WarnsOnStderr_JsonOnStdoutIntact()
    {
        var (exit, output, error) = await RunAsync("snmp", "inventory", "--target", _sim.Target, "--community", "qbridge", "--json");
        Assert.True(exit == 0, error);
        Assert.Contains("segctl: warning: insecure-snmp: SNMPv2c sends the community in clear text", error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(8, json.RootElement.GetProperty("ports").GetArrayLength());
    }

    [Fact]
    public async Task InventoryOfInconsistentTables_Exit2WithNamedError()
    {
        var (exit, output, error) = await RunAsync("snmp", "inventory", "--target", _sim.Target, "--community", "qbridge-dup", "--json");
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains($"segctl: switch {_sim.Target} reports inconsistent data: bridge ports 3 and 5 both map to ifIndex 1003 (dot1dBasePortIfIndex)", error, StringComparison.Ordinal);
        Assert.DoesNotContain("same key", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckPolicyFile_SwitchWithInconsistentTables_Exit2AndUnreachableFinding()
    {
        var policy = Path.Combine(_directory, "inconsistent.yaml");
        await File.WriteAllTextAsync(policy, Policy(_sim.Port));
        Environment.SetEnvironmentVariable("SEGCTL_TEST_SNMP_QB", "qbridge-dup");
        Environment.SetEnvironmentVariable("SEGCTL_TEST_SNMP_CISCO", "cisco");
        var (exit, output, error) = await RunAsync("snmp", "check", "--policy", policy, "--json");
        Assert.Equal(2, exit);
        using var json = JsonDocument.Parse(output);
        var findings = json.RootElement.GetProperty("findings");
        var unreachable = Assert.Single(findings.EnumerateArray(), f => f.GetProperty("rule").GetString() == "switch-unreachable");
        Assert.Equal("qbridge-sw1", unreachable.GetProperty("evidence").GetProperty("switch").GetString());
        Assert.Equal(["alpha", "bravo"], unreachable.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("segctl: switch qbridge-sw1: switch qbridge-sw1 reports inconsistent data", error, StringComparison.Ordinal);
        // The Cisco switch beside it is still judged; each switch says whether it could be read, and why not.
        Assert.Contains(findings.EnumerateArray(), f => f.GetProperty("rule").GetString() == "port-vlan-mismatch" && f.GetProperty("evidence").GetProperty("switch").GetString() == "cisco-sw2");
        var switches = json.RootElement.GetProperty("switches").EnumerateArray().ToArray();
        Assert.Equal(["qbridge-sw1", "cisco-sw2"], switches.Select(s => s.GetProperty("switch").GetString()));
        Assert.Equal([false, true], switches.Select(s => s.GetProperty("reachable").GetBoolean()));
        Assert.Contains("reports inconsistent data", switches[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, switches[0].GetProperty("ports").ValueKind);
        Assert.Equal(JsonValueKind.Null, switches[1].GetProperty("error").ValueKind);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("201")]
    public async Task WalkWithMaxRepetitionsOutsideTheLimit_Exit2(string repetitions)
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", _sim.Target, "--community", "qbridge", "--max-repetitions", repetitions, "1.3.6.1.2.1.2");
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains($"segctl: max-repetitions must be from 1 to 200, not {repetitions}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongAuthPass_Exit2WithClearMessage_SecretNotEchoed()
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", _snmpd.Target, "--user", "sha256", "--auth-protocol", "SHA-256", "--auth-pass", "definitely-wrong", "--priv-protocol", "AES", "--priv-pass", SnmpdAgent.PrivPass, "1.3.6.1.2.1.1");
        Assert.Equal(2, exit);
        Assert.Contains("rejected the credentials", error, StringComparison.Ordinal);
        Assert.DoesNotContain("definitely-wrong", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoAnswer_Exit2()
    {
        var (exit, _, error) = await RunAsync("snmp", "inventory", "--target", $"127.0.0.1:{FreePort.Udp()}", "--community", "x", "--timeout", "0.2", "--retries", "0");
        Assert.Equal(2, exit);
        Assert.StartsWith("segctl: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InventoryJson_QBridge_HasDocumentedShape()
    {
        var (exit, output, error) = await RunAsync("snmp", "inventory", "--target", _sim.Target, "--community", "qbridge", "--profile", "qbridge", "--json");
        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        var ports = json.RootElement.GetProperty("ports");
        Assert.Equal(8, ports.GetArrayLength());
        var uplink = ports.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "ge-0/0/6");
        Assert.Equal("trunk", uplink.GetProperty("mode").GetString());
        Assert.Equal(99, uplink.GetProperty("access_vlan").GetInt32());
        Assert.Equal([10, 20, 30], uplink.GetProperty("tagged_vlans").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Contains(json.RootElement.GetProperty("fdb").EnumerateArray(), f => f.GetProperty("mac").GetString() == "00:00:5e:00:53:02" && f.GetProperty("vlan").GetInt32() == 10 && f.GetProperty("if_index").GetInt32() == 1005);
    }

    [Fact]
    public async Task InventoryTable_Cisco_ListsPorts()
    {
        var (exit, output, error) = await RunAsync("snmp", "inventory", "--target", _sim.Target, "--community", "cisco", "--profile", "cisco");
        Assert.True(exit == 0, error);
        Assert.Contains("6 ports, 8 VLANs, 4 learned MACs", output, StringComparison.Ordinal);
        Assert.Contains("Gi1/0/5", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InventoryTable_HybridPort_ShowsTheVlansItEgressesUntaggedBesidesItsPvid()
    {
        var (exit, output, error) = await RunAsync("snmp", "inventory", "--target", _sim.Target, "--community", "qbridge-hybrid", "--profile", "qbridge");

        Assert.True(exit == 0, error);
        Assert.Contains(" UNTAGGED ", output, StringComparison.Ordinal);
        var hybrid = Assert.Single(output.Split('\n'), l => l.Contains(" ge-0/0/1 ", StringComparison.Ordinal));
        Assert.Matches(@"\btrunk\s+10\s+20\s", hybrid);
        var access = Assert.Single(output.Split('\n'), l => l.Contains(" ge-0/0/3 ", StringComparison.Ordinal));
        Assert.Matches(@"\baccess\s+20\s+-\s", access);
    }

    [Fact]
    public async Task CheckPolicyFile_FindingsAsJson_Exit1()
    {
        var policy = Path.Combine(_directory, "site.yaml");
        await File.WriteAllTextAsync(policy, Policy(_sim.Port));
        Environment.SetEnvironmentVariable("SEGCTL_TEST_SNMP_QB", "qbridge");
        Environment.SetEnvironmentVariable("SEGCTL_TEST_SNMP_CISCO", "cisco");
        var (exit, output, error) = await RunAsync("snmp", "check", "--policy", policy, "--json");
        Assert.True(exit == 1, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal(policy, root.GetProperty("policy").GetString());
        var findings = root.GetProperty("findings");
        var rules = findings.EnumerateArray().Select(f => f.GetProperty("rule").GetString()).ToArray();
        Assert.Contains("port-vlan-mismatch", rules);
        Assert.Contains("foreign-mac", rules);
        Assert.Contains("unassigned-port-in-client-vlan", rules);
        Assert.All(findings.EnumerateArray(), f => Assert.Equal("snmp", f.GetProperty("source").GetString()));
        var mismatch = findings.EnumerateArray().First(f => f.GetProperty("rule").GetString() == "port-vlan-mismatch");
        Assert.Equal("qbridge-sw1", mismatch.GetProperty("evidence").GetProperty("switch").GetString());

        // The switches checked, as the text output counts them.
        var switches = root.GetProperty("switches").EnumerateArray().ToArray();
        Assert.Equal(["qbridge-sw1", "cisco-sw2"], switches.Select(s => s.GetProperty("switch").GetString()));
        Assert.Equal(["qbridge", "cisco"], switches.Select(s => s.GetProperty("profile").GetString()));
        Assert.All(switches, s => Assert.Equal("127.0.0.1", s.GetProperty("address").GetString()));
        Assert.All(switches, s => Assert.Equal(_sim.Port, s.GetProperty("port").GetInt32()));
        Assert.All(switches, s => Assert.True(s.GetProperty("reachable").GetBoolean()));
        Assert.All(switches, s => Assert.Equal(JsonValueKind.Null, s.GetProperty("error").ValueKind));
        Assert.Equal(8, switches[0].GetProperty("ports").GetInt32());
        Assert.Equal(6, switches[1].GetProperty("ports").GetInt32());
        Assert.Equal(4, switches[1].GetProperty("macs").GetInt32());
        (_, var text, _) = await RunAsync("snmp", "check", "--policy", policy);
        foreach (var s in switches)
        {
            Assert.Contains($"switch {s.GetProperty("switch").GetString()}: {s.GetProperty("ports").GetInt32()} ports, {s.GetProperty("vlans").GetInt32()} VLANs, {s.GetProperty("macs").GetInt32()} MACs", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CheckPolicyFile_SwitchSilent_Exit2AndUnreachableFinding()
    {
        var policy = Path.Combine(_directory, "silent.yaml");
        await File.WriteAllTextAsync(policy, Policy(FreePort.Udp()));
        Environment.SetEnvironmentVariable("SEGCTL_TEST_SNMP_QB", "qbridge");
        Environment.SetEnvironmentVariable("SEGCTL_TEST_SNMP_CISCO", "cisco");
        var (exit, output, error) = await RunAsync("snmp", "check", "--policy", policy);
        Assert.Equal(2, exit);
        Assert.Contains("switch-unreachable", output, StringComparison.Ordinal);
        Assert.Contains("qbridge-sw1", error, StringComparison.Ordinal);
    }

    private static string Policy(int port) => $$$"""
        site: {id: snmp-cli-test, name: SNMP CLI test}
        controller:
          management: {listen: ["127.0.0.1:9410"]}
        infrastructure:
          management_vlans: [99]
          trunk_ports:
            - {switch: qbridge-sw1, ports: [ge-0/0/6]}
            - {switch: cisco-sw2, ports: [Gi1/0/5]}
        switches:
          - name: qbridge-sw1
            address: 127.0.0.1
            port: {{{port}}}
            profile: qbridge
            snmp: {version: v2c, community: {env: SEGCTL_TEST_SNMP_QB}}
            timeout: 2s
            retries: 1
          - name: cisco-sw2
            address: 127.0.0.1
            port: {{{port}}}
            profile: cisco
            snmp: {version: v2c, community: {env: SEGCTL_TEST_SNMP_CISCO}}
            timeout: 2s
            retries: 1
        clients:
          - id: alpha
            name: Alpha
            contract_end: 2030-01-01
            segments:
              - name: lan
                vlans: [10]
                subnets: [10.10.0.0/24]
                ports:
                  - {switch: qbridge-sw1, ports: [ge-0/0/1, ge-0/0/2, ge-0/0/4, ge-0/0/8]}
                  - {switch: cisco-sw2, ports: [Gi1/0/1, Gi1/0/2, Gi1/0/4, Gi1/0/6]}
          - id: bravo
            name: Bravo
            contract_end: 2030-01-01
            segments:
              - name: lan
                vlans: [20]
                subnets: [10.20.0.0/24]
                ports:
                  - {switch: qbridge-sw1, ports: [ge-0/0/3, ge-0/0/7]}
                  - {switch: cisco-sw2, ports: [Gi1/0/3]}
        """;
}
