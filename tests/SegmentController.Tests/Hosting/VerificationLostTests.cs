using System.Diagnostics;
using System.Text.RegularExpressions;
using SegmentController.Capture.Tests.Support;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// <c>segctl run</c> with <c>on_verification_lost: suspend</c> when the evidence it verifies isolation
/// from goes away, as a site engineer meets it: a mirror interface that is not there, or a switch whose
/// snmpd stops answering. Verification lost suspends, and suspends again when operators lift a
/// suspension while it is still lost; verification that comes back lifts nothing.
/// </summary>
public sealed class VerificationLostTests : IDisposable
{
    private const string SiteTrip = "segctl_killswitch_trips_total{client=\"all\",trigger=\"verification-lost\"} 1";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-verification-lost-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    /// <summary>The capture corpus site, capturing on <paramref name="interfaceName"/>, without switches.</summary>
    private string WriteCapturePolicy(string interfaceName)
    {
        var yaml = File.ReadAllText(Fixture("site.yaml"))
            .Replace("    interfaces: []", $"    interfaces: [{{name: {interfaceName}, snaplen: 2048, buffer_mib: 8}}]", StringComparison.Ordinal)
            .Replace("    silence: 60s", "    silence: 1s", StringComparison.Ordinal)
            .Replace("  capture:\n", $"  store:\n    path: {Path.Combine(_dir, "segctl.db")}\n  on_verification_lost: suspend\n  capture:\n", StringComparison.Ordinal);
        yaml = Regex.Replace(yaml, @"^switches:\n(?:[ #].*\n|\n)*(?=clients:)", "switches: []\n\n", RegexOptions.Multiline);
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Run_MirrorInterfaceMissing_SuspendsEveryClientAndKeepsThemSuspendedWhenItReturns()
    {
        using var lab = new VethLab(mirror: false);
        lab.DeleteCaptureInterface();
        await using var segctl = SegctlProcess.Start("run", "--policy", WriteCapturePolicy(lab.CaptureInterface), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));

        // Nothing can be captured: once the silence has passed, isolation is unverified and every client is cut.
        var metrics = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains(SiteTrip, StringComparison.Ordinal));
        Assert.True(metrics.Contains(SiteTrip, StringComparison.Ordinal), $"no verification-lost trip while {lab.CaptureInterface} is missing:\n{Lines(metrics)}");
        Assert.Contains("segctl_client_suspended{client=\"acme\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"globex\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_verification_healthy{source=\"capture\"} 0", metrics, StringComparison.Ordinal);

        // The interface appears: capture opens it and verifies again, and the suspension stays for operators to lift.
        lab.RecreateCaptureInterface();
        var deadline = Stopwatch.StartNew();
        do
        {
            lab.Replay(Fixture("clean-site.pcap"));
            metrics = await _http.GetStringAsync(new Uri(management, "/metrics"));
        }
        while (!metrics.Contains("segctl_verification_healthy{source=\"capture\"} 1", StringComparison.Ordinal) && deadline.Elapsed < TimeSpan.FromSeconds(60));

        Assert.True(metrics.Contains("segctl_verification_healthy{source=\"capture\"} 1", StringComparison.Ordinal), Lines(metrics));
        Assert.Contains("segctl_client_suspended{client=\"acme\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"globex\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(SiteTrip, metrics, StringComparison.Ordinal);

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Run_SwitchStillUnreachableAfterARestore_SuspendedAgainAndNothingLiftedWhenItAnswers()
    {
        await using var sw = await SwitchNamespace.CreateAsync(("sgva1", 10), ("sgvb1", 20));
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["olga"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("olga", "operator"));
        await using var segctl = SegctlProcess.Start("run", "--policy", WriteSwitchPolicy(sw.AgentAddress), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        var metrics = await WaitForSnmpVerifiedAsync(management);

        // snmpd stops answering: the clients with ports on the switch are suspended.
        await sw.Agent.StopAsync();
        metrics = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains(Trips("alpha", 1), StringComparison.Ordinal) && m.Contains(Trips("bravo", 1), StringComparison.Ordinal));
        Assert.True(metrics.Contains(Trips("alpha", 1), StringComparison.Ordinal), Lines(metrics));
        Assert.Contains("segctl_verification_healthy{source=\"snmp\"} 0", metrics, StringComparison.Ordinal);

        // An operator lifts alpha's suspension while the switch still cannot be verified: the policy says
        // suspend while verification is lost, so the next poll that still finds it lost trips alpha again.
        using (var api = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) })
        {
            api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", keys["olga"]);
            using var restored = await api.PostAsync(new Uri("/api/v1/clients/alpha/restore", UriKind.Relative), OperatorApiSite.Reason("switch maintenance"));
            Assert.Equal(System.Net.HttpStatusCode.OK, restored.StatusCode);
        }

        metrics = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains(Trips("alpha", 2), StringComparison.Ordinal));
        Assert.True(metrics.Contains(Trips("alpha", 2), StringComparison.Ordinal), $"alpha not suspended again while sw1 is unreachable:\n{Lines(metrics)}");
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(Trips("bravo", 1), metrics, StringComparison.Ordinal);

        // The switch answers again — rebooted with another engine id: verified again, nobody lifted.
        await sw.Agent.RestartAsync(engineId: "segctl-engine-rebooted");
        metrics = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains("segctl_verification_healthy{source=\"snmp\"} 1", StringComparison.Ordinal));
        Assert.True(metrics.Contains("segctl_switch_reachable{switch=\"sw1\"} 1", StringComparison.Ordinal), Lines(metrics));
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"bravo\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(Trips("alpha", 2), metrics, StringComparison.Ordinal);

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Run_SuspendedAgainWhileARestoreStillBringsPortsUp_ClientSuspendedStaysOne()
    {
        await using var sw = await SwitchNamespace.CreateAsync(("sgva1", 10), ("sgvb1", 20));
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["olga"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("olga", "operator"));
        // The restore's wait on the hung switch (timeout times attempts) is the spell in which the test sees the
        // lift and suspends again: long enough for a busy machine's status reads and request.
        await using var segctl = SegctlProcess.Start("run", "--policy", WriteSwitchPolicy(sw.AgentAddress, timeout: "5s", retries: 1), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        var metrics = await WaitForSnmpVerifiedAsync(management);

        // snmpd hangs (no answer, no ICMP): alpha and bravo are suspended, and anything asked of the switch
        // now waits out its timeouts — bringing alpha's port up at a restore too.
        await sw.Agent.PauseAsync();
        metrics = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains(Trips("alpha", 1), StringComparison.Ordinal));
        Assert.True(metrics.Contains(Trips("alpha", 1), StringComparison.Ordinal), Lines(metrics));

        using var api = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", keys["olga"]);
        var tripped = SuspensionId(await api.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative)), "alpha");
        Assert.NotNull(tripped);
        var restoring = api.PostAsync(new Uri("/api/v1/clients/alpha/restore", UriKind.Relative), OperatorApiSite.Reason("lifted in error"));

        // The lift is in force while the restore still waits on the switch to bring alpha's port up; alpha
        // is suspended again meanwhile. When the restore finishes, alpha is still suspended, and the
        // metric dashboards alert on must say so. The poller trips a lifted alpha again at its next poll
        // that still cannot verify the switch, which may come before the test reads the status: the lift
        // is seen once alpha is no longer under the suspension restored (active, or suspended anew).
        var deadline = Stopwatch.StartNew();
        while (SuspensionId(await api.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative)), "alpha") == tripped && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            Assert.False(restoring.IsCompleted, "the restore finished before it could be overtaken");
            await Task.Delay(50);
        }

        Assert.False(restoring.IsCompleted, "the restore finished before it could be overtaken");
        using (var suspended = await api.PostAsync(new Uri("/api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("the restore was a mistake")))
        {
            Assert.True(suspended.IsSuccessStatusCode, $"{(int)suspended.StatusCode}");
        }

        using (var restored = await restoring)
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, restored.StatusCode);
        }

        Assert.Equal("suspended", State(await api.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative)), "alpha"));
        metrics = await _http.GetStringAsync(new Uri(management, "/metrics"));
        Assert.True(metrics.Contains("segctl_client_suspended{client=\"alpha\"} 1", StringComparison.Ordinal), $"alpha is suspended, the metric says otherwise:\n{Lines(metrics)}");
        Assert.Contains("segctl_client_suspended{client=\"bravo\"} 1", metrics, StringComparison.Ordinal);

        await sw.Agent.ResumeAsync();
        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// Reads <c>/metrics</c> until sw1 is reachable and SNMP verification healthy; the switch's poll sets the
    /// first a moment before the verification it decides.
    /// </summary>
    private async Task<string> WaitForSnmpVerifiedAsync(Uri management)
    {
        var metrics = await SegctlProcess.PollMetricsAsync(_http, management, m =>
            m.Contains("segctl_switch_reachable{switch=\"sw1\"} 1", StringComparison.Ordinal) && m.Contains("segctl_verification_healthy{source=\"snmp\"} 1", StringComparison.Ordinal));
        Assert.True(metrics.Contains("segctl_switch_reachable{switch=\"sw1\"} 1", StringComparison.Ordinal), $"sw1 never reachable:\n{metrics}");
        Assert.True(metrics.Contains("segctl_verification_healthy{source=\"snmp\"} 1", StringComparison.Ordinal), $"sw1 reachable, SNMP verification never healthy:\n{Lines(metrics)}");
        return metrics;
    }

    private static string? State(string status, string client) => ClientStatus(status, client).GetProperty("state").GetString();

    /// <summary>The id of the client's own suspension in force, null when it has none.</summary>
    private static string? SuspensionId(string status, string client) =>
        ClientStatus(status, client).GetProperty("suspension") is { ValueKind: not System.Text.Json.JsonValueKind.Null } suspension ? suspension.GetProperty("id").GetString() : null;

    /// <summary>The client's entry in a status answer.</summary>
    private static System.Text.Json.JsonElement ClientStatus(string status, string client)
    {
        using var document = System.Text.Json.JsonDocument.Parse(status);
        return document.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == client).Clone();
    }

    private static string Trips(string client, int count) =>
        $"segctl_killswitch_trips_total{{client=\"{client}\",trigger=\"verification-lost\"}} {count}";

    /// <summary>
    /// Two clients with ports on one switch (snmpd in a namespace, SNMPv3 with authentication and privacy,
    /// secrets in files), polled every second with the given timeout and retries; one approver lifts a suspension.
    /// </summary>
    private string WriteSwitchPolicy(string agentAddress, string timeout = "1s", int retries = 1)
    {
        var auth = Path.Combine(_dir, "snmp.auth");
        var priv = Path.Combine(_dir, "snmp.priv");
        File.WriteAllText(auth, SnmpdAgent.AuthPass);
        File.WriteAllText(priv, SnmpdAgent.PrivPass);
        var authLine = $"auth: {{protocol: SHA-256, pass: {{file: {auth}}}}}";
        var privLine = $"priv: {{protocol: AES, pass: {{file: {priv}}}}}";
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, $"""
            site:
              id: verification-lost
              name: A switch that stops answering
            controller:
              management:
                listen: ["127.0.0.1:9410"]
                api_keys_file: {Path.Combine(_dir, "api-keys")}
              store:
                path: {Path.Combine(_dir, "segctl.db")}
              on_verification_lost: suspend
            infrastructure:
              management_vlans: [99]
              subnets: [127.0.0.0/24]
              proxy_addresses: [127.0.0.1]
            switches:
              - name: sw1
                address: {agentAddress}
                profile: qbridge
                timeout: {timeout}
                retries: {retries}
                poll_interval: 1s
                snmp:
                  version: v3
                  user: sha256
                  {authLine}
                  {privLine}
            clients:
              - id: alpha
                name: Alpha Insurance
                contract_end: 2029-06-30
                segments:
                  - name: agents
                    vlans: [10]
                    subnets: [127.0.110.0/24]
                    ports:
                      - switch: sw1
                        ports: [sgva1]
              - id: bravo
                name: Bravo Telecom
                contract_end: 2028-12-31
                segments:
                  - name: agents
                    vlans: [20]
                    subnets: [127.0.120.0/24]
                    ports:
                      - switch: sw1
                        ports: [sgvb1]
            restore:
              approvers: 1
            """);
        return path;
    }

    private static string Lines(string metrics) =>
        string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("segctl_client_suspended", StringComparison.Ordinal)
            || l.StartsWith("segctl_killswitch_trips_total", StringComparison.Ordinal)
            || l.StartsWith("segctl_verification_healthy", StringComparison.Ordinal)
            || l.StartsWith("segctl_findings_total", StringComparison.Ordinal)));
}
