using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Cli;
using SegmentController.Evidence;
using SegmentController.Hosting;
using SegmentController.Tests.Api;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// <c>segctl run</c> as <see cref="ControllerHost"/> builds it, on loopback, for the evidence store's
/// upkeep: a real SQLite store (anywhere the test puts it), the store's maintenance intervals made short,
/// and a policy the test can rewrite between starts (signing keys, clients and their contract ends).
/// </summary>
internal sealed class EvidenceSite : IAsyncDisposable
{
    public EvidenceSite(string directory, string? storePath = null)
    {
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
        StorePath = storePath ?? Path.Combine(directory, "segctl.db");
        Keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["alice"] = OperatorApiSite.NewKey(), ["audra"] = OperatorApiSite.NewKey(), ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(directory, "api-keys"), Keys, ("alice", "operator"), ("audra", "auditor"), ("val", "viewer"));
    }

    public string Directory { get; }

    public string StorePath { get; }

    public string PolicyPath => Path.Combine(Directory, "site.yaml");

    public Dictionary<string, string> Keys { get; }

    public WebApplication? App { get; private set; }

    public Uri Url { get; private set; } = null!;

    /// <summary>Store lines under <c>controller.store</c> beyond the path (signing keys), indented by four spaces.</summary>
    public string StoreExtra { get; set; } = "";

    /// <summary>Lines under <c>controller:</c> (e.g. a <c>proxy:</c> section), indented by two spaces.</summary>
    public string ControllerExtra { get; set; } = "";

    /// <summary>Per client id, lines appended to its definition (e.g. <c>notify:</c>), indented by four spaces.</summary>
    public Dictionary<string, string> ClientExtra { get; } = new(StringComparer.Ordinal);

    /// <summary>Top-level policy sections appended as they are (e.g. <c>audits:</c>).</summary>
    public string Extra { get; set; } = "";

    /// <summary>Clients beyond alpha and beta: (id, contract end).</summary>
    public List<(string Id, string ContractEnd)> ExtraClients { get; } = [];

    public Action<StoreMaintenanceOptions> Maintenance { get; set; } = o =>
    {
        o.StartDelay = TimeSpan.FromHours(1);
        o.RetryInterval = TimeSpan.FromMilliseconds(200);
    };

    public void WritePolicy()
    {
        var extra = string.Concat(ExtraClients.Select((c, i) => $"""

              - id: {c.Id}
                name: Client {c.Id}
                contract_end: {c.ContractEnd}
                segments:
                  - name: agents
                    vlans: [{130 + i}]
                    subnets: [127.0.{130 + i}.0/24]{ClientExtra.GetValueOrDefault(c.Id, "")}
            """));
        File.WriteAllText(PolicyPath, $"""
            site:
              id: evidence-site
              name: Evidence test site on loopback
            controller:
              management:
                listen: ["127.0.0.1:9410"]
                api_keys_file: {Path.Combine(Directory, "api-keys")}
              store:
                path: {StorePath}{StoreExtra}
              on_verification_lost: alert{ControllerExtra}
            infrastructure:
              management_vlans: [10]
              subnets: [127.0.0.0/24]
              proxy_addresses: [127.0.0.1]
            switches: []
            clients:
              - id: alpha
                name: Alpha Insurance
                contract_end: 2029-06-30
                segments:
                  - name: agents
                    vlans: [110]
                    subnets: [127.0.110.0/24]{ClientExtra.GetValueOrDefault("alpha", "")}
              - id: beta
                name: Beta Telecom
                contract_end: 2028-12-31
                segments:
                  - name: agents
                    vlans: [120]
                    subnets: [127.0.120.0/24]{ClientExtra.GetValueOrDefault("beta", "")}{extra}
            {Extra}
            """);
    }

    public async Task StartAsync()
    {
        if (!File.Exists(PolicyPath))
        {
            WritePolicy();
        }

        var opened = PolicyFile.Open(PolicyPath);
        Assert.True(opened.Provider is not null, string.Join('\n', opened.Errors));
        App = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"], services => services.Configure(Maintenance));
        await App.StartAsync();
        Url = new Uri(App.BoundAddresses()[0]);
    }

    public async Task StopAsync()
    {
        if (App is { } app)
        {
            App = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public T Service<T>()
        where T : notnull => App!.Services.GetRequiredService<T>();

    public HttpClient Client(string? user = null)
    {
        var client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(2) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Keys[user]);
        }

        return client;
    }

    public async Task<string> MetricsAsync()
    {
        using var client = Client();
        return await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
    }

    /// <summary>/healthz: its status code and each verification source's health.</summary>
    public async Task<(HttpStatusCode Status, Dictionary<string, bool> Sources)> HealthAsync()
    {
        using var client = Client();
        using var response = await client.GetAsync(new Uri("healthz", UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var sources = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var check in body.RootElement.GetProperty("checks").EnumerateObject())
        {
            foreach (var source in check.Value.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Object))
            {
                sources[source.Name] = source.Value.GetProperty("healthy").GetBoolean();
            }
        }

        return (response.StatusCode, sources);
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
