using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl snmp shut|restore</c> against snmpd in a namespace: the veth really goes down and up.</summary>
public sealed class SnmpShutCommandTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task ShutThenRestore_LinkDownThenUp_OtherClientsPortUntouched()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpb1", "swup");
        var directory = Directory.CreateTempSubdirectory("segctl-snmp-shut-").FullName;
        try
        {
            var policy = Path.Combine(directory, "site.yaml");
            await File.WriteAllTextAsync(policy, $$$"""
                site: {id: shut-test, name: Shut test}
                controller:
                  management: {listen: ["127.0.0.1:9410"]}
                infrastructure:
                  trunk_ports:
                    - {switch: lab-sw, ports: [swup]}
                switches:
                  - name: lab-sw
                    address: {{{ns.AgentAddress}}}
                    profile: qbridge
                    snmp:
                      version: v3
                      user: sha256
                      auth: {protocol: SHA-256, pass: {env: SEGCTL_TEST_SHUT_AUTH}}
                      priv: {protocol: AES, pass: {env: SEGCTL_TEST_SHUT_PRIV}}
                clients:
                  - id: alpha
                    name: Alpha
                    contract_end: 2030-01-01
                    segments:
                      - name: lan
                        vlans: [10]
                        subnets: [10.10.0.0/24]
                        ports:
                          - {switch: lab-sw, ports: [swpa1]}
                    kill:
                      force_shut_ports: []
                  - id: bravo
                    name: Bravo
                    contract_end: 2030-01-01
                    segments:
                      - name: lan
                        vlans: [20]
                        subnets: [10.20.0.0/24]
                        ports:
                          - {switch: lab-sw, ports: [swpb1]}
                """);
            Environment.SetEnvironmentVariable("SEGCTL_TEST_SHUT_AUTH", SnmpdAgent.AuthPass);
            Environment.SetEnvironmentVariable("SEGCTL_TEST_SHUT_PRIV", SnmpdAgent.PrivPass);

            var (exit, output, error) = await RunAsync("snmp", "shut", "--policy", policy, "--client", "alpha", "--json");
            Assert.True(exit == 0, error + output);
            using (var json = JsonDocument.Parse(output))
            {
                var port = Assert.Single(json.RootElement.EnumerateArray());
                Assert.Equal("swpa1", port.GetProperty("port").GetString());
                Assert.Equal("done", port.GetProperty("outcome").GetString());
                Assert.True(port.GetProperty("seconds").GetDouble() > 0);
            }

            Assert.False(await ns.IsUpAsync("swpa1"));
            Assert.True(await ns.IsUpAsync("swpb1"));

            (exit, output, error) = await RunAsync("snmp", "restore", "--policy", policy, "--client", "alpha");
            Assert.True(exit == 0, error + output);
            Assert.Contains("swpa1", output, StringComparison.Ordinal);
            Assert.True(await ns.IsUpAsync("swpa1"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
