using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using SegmentController.Cli;
using SegmentController.Hosting;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Tests.Api;

namespace SegmentController.Tests.Audits;

/// <summary>
/// <c>segctl run</c> as <see cref="ControllerHost"/> builds it, for audits: a real SQLite store, the real
/// SNMP poller and audit sources against snmpsimd serving the Q-BRIDGE switch <c>qbridge-sw1</c>
/// (alpha = VLAN 10, bravo = VLAN 20). With <see cref="AuditSiteOptions.CleanPorts"/> the policy matches
/// the switch's VLAN table; otherwise alpha is given ge-0/0/4, which the switch has in bravo's VLAN 20.
/// </summary>
internal sealed class AuditSite : IAsyncDisposable
{
    private readonly string _policyPath;

    private AuditSite(string directory, string policyPath, Dictionary<string, string> keys)
    {
        Directory = directory;
        _policyPath = policyPath;
        Keys = keys;
    }

    public string Directory { get; }

    public Dictionary<string, string> Keys { get; }

    public WebApplication App { get; private set; } = null!;

    public Uri Url { get; private set; } = null!;

    public string StorePath => Path.Combine(Directory, "segctl.db");

    /// <summary>The proxy's port on 127.0.0.1, with <see cref="AuditSiteOptions.ProxyCertificate"/>.</summary>
    public int? ProxyPort { get; private set; }

    public static async Task<AuditSite> StartAsync(int snmpPort, AuditSiteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var directory = System.IO.Directory.CreateTempSubdirectory("segctl-audit-").FullName;
        var keys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alice"] = OperatorApiSite.NewKey(),
            ["audra"] = OperatorApiSite.NewKey(),
            ["val"] = OperatorApiSite.NewKey(),
        };
        OperatorApiSite.WriteKeys(Path.Combine(directory, "api-keys"), keys, ("alice", "operator"), ("audra", "auditor"), ("val", "viewer"));
        var community = $"SEGCTL_TEST_AUDIT_COMMUNITY_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(community, "qbridge");
        var site = new AuditSite(directory, Path.Combine(directory, "site.yaml"), keys);
        File.WriteAllText(site._policyPath, site.Policy(snmpPort, community, options));
        await site.StartHostAsync();
        return site;
    }

    /// <summary>Stops the controller and starts it again on the same policy, store and state.</summary>
    public async Task RestartAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await StartHostAsync();
    }

    public HttpClient Client(string user)
    {
        var client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Keys[user]);
        return client;
    }

    /// <summary>POSTs /api/v1/audits as the auditor and returns the report.</summary>
    public async Task<JsonElement> RunAuditAsync(string? client = null)
    {
        using var auditor = Client("audra");
        using var response = await auditor.PostAsync("api/v1/audits", client is null ? null : Json(new() { ["client"] = client }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    public async Task<JsonElement> GetAsync(string user, string path)
    {
        using var client = Client(user);
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>The client's entry in /api/v1/status.</summary>
    public async Task<JsonElement> StatusOfAsync(string client) =>
        (await GetAsync("val", "api/v1/status")).GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == client);

    public async Task<string> MetricsAsync()
    {
        using var client = new HttpClient { BaseAddress = Url };
        return await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
    }

    public static StringContent Json(Dictionary<string, string> fields) =>
        new(JsonSerializer.Serialize(fields), Encoding.UTF8, "application/json");

    /// <summary>Runs a <c>segctl</c> command in-process against this controller.</summary>
    public async Task<(int Code, string Output, string Error)> CliAsync(string user, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApplication.InvokeAsync([.. args, "--url", Url.ToString(), "--api-key", Keys[user]], output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private async Task StartHostAsync()
    {
        var opened = PolicyFile.Open(_policyPath);
        Assert.True(opened.Provider is not null, string.Join('\n', opened.Errors));
        App = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"]);
        await App.StartAsync();
        Url = new Uri(App.BoundAddresses()[0]);
    }

    private string Policy(int snmpPort, string communityVariable, AuditSiteOptions options)
    {
        var alphaPorts = options.CleanPorts ? "ge-0/0/1, ge-0/0/2, ge-0/0/5" : "ge-0/0/1, ge-0/0/2, ge-0/0/4, ge-0/0/5";
        var bravoPorts = options.CleanPorts ? "ge-0/0/3, ge-0/0/4, ge-0/0/7" : "ge-0/0/3, ge-0/0/7";
        var proxy = "";
        if (options.ProxyCertificate)
        {
            var (cert, key) = WriteCertificate();
            ProxyPort = FreePort.Tcp();
            proxy = $"""

                  proxy:
                    listen: ["127.0.0.1:{ProxyPort}"]
                    certificate:
                      file: {cert}
                      key_file: {key}
                """;
        }

        var capture = options.CaptureInterface is null ? "" : $"""

              capture:
                interfaces:
                  - name: {options.CaptureInterface}
            """;
        var upstreams = options.AlphaUpstream ? """

                upstreams:
                  - name: crm
                    hosts: [alpha.test]
                    destinations: ["https://127.0.0.1:9/"]
            """ : "";
        var rules = options.PollerSuspends ? "" : """

            rules:
              overrides:
                # The poller only alerts: the audit, not the poller, is what suspends in these tests.
                port-vlan-mismatch: alert
            """;
        return $"""
            site:
              id: audit-test
              name: Audit test site on loopback
            controller:
              management:
                listen: ["127.0.0.1:9410"]
                api_keys_file: {Path.Combine(Directory, "api-keys")}
              store:
                path: {StorePath}
              on_verification_lost: alert{proxy}{capture}
            infrastructure:
              management_vlans: [1, 30, 99]
              subnets: [127.0.0.0/24]
              proxy_addresses: [127.0.0.1]
              trunk_ports:
                - switch: qbridge-sw1
                  ports: [ge-0/0/6, ge-0/0/8]
            switches:
              - name: qbridge-sw1
                address: 127.0.0.1
                port: {snmpPort}
                profile: qbridge
                timeout: {options.SwitchTimeout}
                retries: 1
                poll_interval: 1h
                snmp:
                  version: v2c
                  community:
                    env: {communityVariable}
            clients:
              - id: alpha
                name: Alpha Insurance
                contract_end: 2029-06-30
                segments:
                  - name: agents
                    vlans: [10]
                    subnets: [127.0.110.0/24]
                    ports:
                      - switch: qbridge-sw1
                        ports: [{alphaPorts}]{upstreams}
              - id: bravo
                name: Bravo Telecom
                contract_end: 2028-12-31
                segments:
                  - name: agents
                    vlans: [20]
                    subnets: [127.0.120.0/24]
                    ports:
                      - switch: qbridge-sw1
                        ports: [{bravoPorts}]{rules}
            audits:
              suspend_on_failure: {(options.SuspendOnFailure ? "true" : "false")}
            restore:
              approvers: 1
              require_passing_audit: true
            """;
    }

    private (string Certificate, string Key) WriteCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=segctl-audit-test", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(Directory, "proxy.pem");
        var keyPath = Path.Combine(Directory, "proxy.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }
}
