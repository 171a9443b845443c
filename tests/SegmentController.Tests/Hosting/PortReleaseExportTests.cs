using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// <c>segctl run</c> with a suspended client whose switch port (snmpd in a namespace, controlling real links)
/// a policy reload gives another client: the port is brought up, the site's log names who has it now, and
/// the suspended client's evidence export names nothing of that client, and verifies.
/// </summary>
public sealed class PortReleaseExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-port-release-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_ReloadGivesASuspendedClientsPortToAnother_PortBroughtUp_LogNamesTheOwner_SuspendedClientsExportNamesNothingOfIt_AndVerifies()
    {
        await using var sw = await SwitchNamespace.CreateAsync("sgea1", "sgea2", "sgeb1");
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["olga"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("olga", "operator"));
        var policyPath = WritePolicy(sw.AgentAddress, alpha: "[sgea1, sgea2]", bravo: "[sgeb1]");
        var before = PolicyFile.Open(policyPath).Provider!.Current;
        await using var segctl = SegctlProcess.Start("run", "--policy", policyPath, "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        using var api = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", keys["olga"]);

        using (var suspended = await api.PostAsync(new Uri("/api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("leak on the SPAN port")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
        }

        await WaitUntilAsync(segctl, async () => !await sw.IsUpAsync("sgea1") && !await sw.IsUpAsync("sgea2"));

        // sgea2 goes to bravo, which is not suspended: the controller undoes its own shut.
        WritePolicy(sw.AgentAddress, alpha: "[sgea1]", bravo: "[sgeb1, sgea2]");
        segctl.Signal(NativeMethods.SigHup);
        await WaitUntilAsync(segctl, () => Task.FromResult(segctl.StandardOutput.Contains("switch ports a policy reload took from alpha", StringComparison.Ordinal)));
        Assert.Contains("brought up and read back up: bravo=sw1:sgea2", segctl.StandardOutput, StringComparison.Ordinal);
        Assert.True(await sw.IsUpAsync("sgea2"));
        Assert.False(await sw.IsUpAsync("sgea1"));
        Assert.True(await sw.IsUpAsync("sgeb1"));

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var exportPath = Path.Combine(_dir, "alpha.jsonl");
        var (exported, _, exportError) = await Segctl("log", "export", "--store", Path.Combine(_dir, "segctl.db"), "--client", "alpha", "--out", exportPath);
        Assert.True(exported == 0, exportError);
        var export = await File.ReadAllTextAsync(exportPath);
        var lines = export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

        var release = Assert.Single(lines, l => l.GetProperty("kind").GetString() == "record"
            && l.GetProperty("type").GetString() == RecordTypes.Suspension
            && l.GetProperty("payload").GetProperty("event").GetString() == "ports-released").GetProperty("payload").GetProperty("release");
        Assert.Equal(["sw1:sgea2"], release.GetProperty("brought_up").EnumerateArray().Select(p => p.GetString()!).ToArray());
        Assert.True(release.GetProperty("verified").GetBoolean());

        // Nothing of bravo: not its id or name, its subnet, its own port or its VLAN; and nothing a view for
        // alpha would redact under the policy in force when alpha was suspended (sgea2 was alpha's then).
        Assert.DoesNotContain("bravo", export, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("127.0.120.", export, StringComparison.Ordinal);
        Assert.DoesNotMatch("(?<![A-Za-z0-9/-])sgeb1(?![0-9])", export);
        Assert.DoesNotMatch("VLANs? \\[?(?:[0-9]+, ?)*20(?![0-9])", export);
        var alphasView = new ClientRedactor("alpha", [], before);
        foreach (var line in lines.Where(l => l.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object))
        {
            var text = line.GetProperty("payload").GetRawText();
            Assert.Equal(alphasView.Redact(text), text);
        }

        var (verified, said, verifyError) = await Segctl("log", "verify", "--export", exportPath);
        Assert.True(verified == 0, said + verifyError);
    }

    [Fact]
    public async Task Run_SiteWideSuspension_ReloadReleasesAnotherClientsPort_ClientsOwnIncidentHasNothingOfIt_ExportNamesNothingOfIt_AndVerifies()
    {
        await using var sw = await SwitchNamespace.CreateAsync("sgfa1", "sgfb1", "sgfb2");
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["olga"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("olga", "operator"));
        var policyPath = WritePolicy(sw.AgentAddress, alpha: "[sgfa1]", bravo: "[sgfb1, sgfb2]");
        await using var segctl = SegctlProcess.Start("run", "--policy", policyPath, "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        using var api = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", keys["olga"]);

        // Each client has an incident of its own, recorded in full under its key alone.
        var incidents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var client in (string[])["alpha", "bravo"])
        {
            using var body = new StringContent(JsonSerializer.Serialize(new { nature = "leak seen on the SPAN port", clients = new[] { client } }), System.Text.Encoding.UTF8, "application/json");
            using var opened = await api.PostAsync(new Uri("/api/v1/incidents", UriKind.Relative), body);
            Assert.Equal(System.Net.HttpStatusCode.Created, opened.StatusCode);
            using var incident = JsonDocument.Parse(await opened.Content.ReadAsStringAsync());
            incidents[client] = incident.RootElement.GetProperty("id").GetString()!;
        }

        using (var suspended = await api.PostAsync(new Uri("/api/v1/suspend-all", UriKind.Relative), OperatorApiSite.Reason("leak on the SPAN port")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
        }

        await WaitUntilAsync(segctl, async () => !await sw.IsUpAsync("sgfa1") && !await sw.IsUpAsync("sgfb1") && !await sw.IsUpAsync("sgfb2"));

        // sgfb2 goes to no client: left shut, and the site-wide suspension's record says it was taken from bravo.
        WritePolicy(sw.AgentAddress, alpha: "[sgfa1]", bravo: "[sgfb1]");
        segctl.Signal(NativeMethods.SigHup);
        await WaitUntilAsync(segctl, async () => (await api.GetStringAsync(new Uri($"/api/v1/incidents/{incidents["bravo"]}", UriKind.Relative)))
            .Contains("policy reload took switch ports from bravo: sw1:sgfb2 left shut", StringComparison.Ordinal));
        Assert.False(await sw.IsUpAsync("sgfb2"));
        var alphas = await api.GetStringAsync(new Uri($"/api/v1/incidents/{incidents["alpha"]}", UriKind.Relative));
        Assert.Contains("suspended all clients", alphas, StringComparison.Ordinal);
        Assert.DoesNotContain("bravo", alphas, StringComparison.OrdinalIgnoreCase);

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var exportPath = Path.Combine(_dir, "alpha.jsonl");
        var (exported, _, exportError) = await Segctl("log", "export", "--store", Path.Combine(_dir, "segctl.db"), "--client", "alpha", "--out", exportPath);
        Assert.True(exported == 0, exportError);
        var export = await File.ReadAllTextAsync(exportPath);
        Assert.Contains(incidents["alpha"], export, StringComparison.Ordinal);
        Assert.DoesNotContain("bravo", export, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("127.0.120.", export, StringComparison.Ordinal);
        Assert.DoesNotMatch("(?<![A-Za-z0-9/-])sgfb[0-9]", export);
        Assert.DoesNotMatch("VLANs? \\[?(?:[0-9]+, ?)*20(?![0-9])", export);

        var (verified, said, verifyError) = await Segctl("log", "verify", "--export", exportPath);
        Assert.True(verified == 0, said + verifyError);
    }

    private static async Task<(int Exit, string Output, string Error)> Segctl(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    private static async Task WaitUntilAsync(SegctlProcess segctl, Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"not done in time; stdout:\n{segctl.StandardOutput}\nstderr:\n{segctl.StandardError}");
            await Task.Delay(50);
        }
    }

    private string WritePolicy(string agentAddress, string alpha, string bravo) =>
        TwoClientSwitchSite.WritePolicy(_dir, "port-release", "A reload gives a suspended client's port to another", agentAddress, alpha, bravo);
}
