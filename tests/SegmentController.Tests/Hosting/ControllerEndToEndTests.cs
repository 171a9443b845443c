using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using SegmentController.Cli;
using SegmentController.Hosting;
using SegmentController.Tests.Api;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The whole of <c>segctl run</c> as <see cref="ControllerHost"/> builds it from a policy file: the real
/// inline proxy in front of a real HTTPS upstream, the real SQLite store, incidents with a real webhook
/// receiver, the kill switch and the operator API. A cross-client request is the incident.
/// </summary>
public sealed class ControllerEndToEndTests : IAsyncDisposable
{
    private const string AlphaAgent = "127.0.110.5";
    private const string BetaAgent = "127.0.120.5";
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-e2e-").FullName;
    private readonly X509Certificate2 _certificate;
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly List<string> _notices = [];
    private readonly List<string> _upstreamPaths = [];

    public ControllerEndToEndTests()
    {
        // One self-signed certificate serves the upstream, the webhook receiver and the proxy, and is the CA bundle.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=segctl-e2e", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("alpha.test");
        san.AddDnsName("beta.test");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certPath = Path.Combine(_dir, "cert.pem");
        _keyPath = Path.Combine(_dir, "key.pem");
        File.WriteAllText(_certPath, created.ExportCertificatePem());
        File.WriteAllText(_keyPath, key.ExportPkcs8PrivateKeyPem());
        _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    public async ValueTask DisposeAsync()
    {
        _certificate.Dispose();
        await Task.Yield();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task CrossClientRequest_OpensIncidentTripsClientNotifiesAndSurvivesRestart()
    {
        await using var upstream = await StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var proxyPort = FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("val", "viewer"));
        File.WriteAllText(Path.Combine(_dir, "hook.key"), "webhook-key\n");
        var policyPath = WritePolicy(upstreamPort, proxyPort);

        string incidentId;
        await using (var app = await StartControllerAsync(policyPath))
        {
            using var api = Api(app, keys["val"]);
            using (var alpha = Agent(proxyPort))
            {
                var ok = await alpha.GetAsync(new Uri("https://alpha.test/work"));
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                Assert.Equal("upstream saw 127.0.0.1", await ok.Content.ReadAsStringAsync());

                // The same agent asks for the other client's system: refused, and it is the incident. The trip
                // it causes may abort alpha's connections before the 403 is written: either way nothing passes.
                try
                {
                    using var cross = await alpha.GetAsync(new Uri("https://beta.test/customers"));
                    Assert.Equal(HttpStatusCode.Forbidden, cross.StatusCode);
                }
                catch (HttpRequestException)
                {
                }
            }

            var incident = await WaitForAsync(api, "/api/v1/incidents", doc =>
                doc.RootElement.GetProperty("incidents").EnumerateArray().FirstOrDefault(i =>
                    i.GetProperty("measures_taken").GetArrayLength() > 0 && i.GetProperty("notice_given_at").ValueKind == JsonValueKind.String));
            incidentId = incident.GetProperty("id").GetString()!;
            Assert.Contains("alpha", incident.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
            Assert.Contains("cross-client-request", incident.GetProperty("nature").GetString(), StringComparison.Ordinal);
            Assert.Contains(incident.GetProperty("measures_taken").EnumerateArray(), m => m.GetProperty("text").GetString()!.StartsWith("suspended alpha", StringComparison.Ordinal));

            lock (_notices)
            {
                Assert.Contains(_notices, n => n.Contains(incidentId, StringComparison.Ordinal));
            }

            var metrics = await api.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_client_suspended{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incidents_open{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incident_notice_due_timestamp_seconds{client=\"alpha\"} 0", metrics, StringComparison.Ordinal);

            // Every proxied request is timed per client: alpha's forwarded request and its refused one at least.
            var durations = System.Text.RegularExpressions.Regex.Match(metrics, "^segctl_proxy_request_duration_seconds_count\\{client=\"alpha\"\\} (\\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
            Assert.True(durations.Success, "no segctl_proxy_request_duration_seconds for alpha on /metrics");
            Assert.True(int.Parse(durations.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 2, durations.Value);
            Assert.Contains("segctl_proxy_request_duration_seconds_bucket{client=\"alpha\",le=\"+Inf\"}", metrics, StringComparison.Ordinal);

            await AssertRefusedAsync(proxyPort, "/after-trip");
            await app.StopAsync();
        }

        // The chain holds everything and verifies.
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            Assert.Equal(0, await CliApplication.InvokeAsync(["log", "verify", "--store", Path.Combine(_dir, "segctl.db")], output, error, CancellationToken.None));
        }

        // A restart keeps the client suspended and the incident open, with its clock.
        await using (var app = await StartControllerAsync(policyPath))
        {
            using var api = Api(app, keys["val"]);
            var incident = await WaitForAsync(api, "/api/v1/incidents", doc =>
                doc.RootElement.GetProperty("incidents").EnumerateArray().FirstOrDefault(i => i.GetProperty("id").GetString() == incidentId));
            Assert.Equal("open", incident.GetProperty("status").GetString());
            var metrics = await api.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incidents_open{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            await AssertRefusedAsync(proxyPort, "/after-restart");

            // The other client was never part of the incident and still works through the restarted proxy.
            using var beta = Agent(proxyPort, BetaAgent);
            using var ok = await beta.GetAsync(new Uri("https://beta.test/work"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            await app.StopAsync();
        }
    }

    /// <summary>
    /// A suspended client's agent is dropped before any HTTP exchange: the request fails at the transport,
    /// and the upstream never sees the path. The failure message says what came back instead.
    /// </summary>
    private async Task AssertRefusedAsync(int proxyPort, string path)
    {
        using var refused = Agent(proxyPort);
        refused.Timeout = TimeSpan.FromSeconds(30);
        try
        {
            using var response = await refused.GetAsync(new Uri("https://alpha.test" + path));
            Assert.Fail($"the suspended agent got an answer instead of a dropped connection: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or SocketException)
        {
            // Dropped: depending on when the reset arrives, the agent's stack reports it as one of these.
        }

        lock (_upstreamPaths)
        {
            Assert.DoesNotContain(path, _upstreamPaths);
        }
    }

    private static async Task<WebApplication> StartControllerAsync(string policyPath)
    {
        var opened = PolicyFile.Open(policyPath);
        Assert.True(opened.Provider is not null, string.Join('\n', opened.Errors));
        var app = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"]);
        await app.StartAsync();
        return app;
    }

    private static HttpClient Api(WebApplication app, string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(app.BoundAddresses()[0]) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient api, string path, Func<JsonDocument, JsonElement> select)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var doc = JsonDocument.Parse(await api.GetStringAsync(new Uri(path, UriKind.Relative)));
            var found = select(doc);
            if (found.ValueKind != JsonValueKind.Undefined)
            {
                return found.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} never showed what the test waits for: {doc.RootElement}");
            await Task.Delay(100);
        }
    }

    private string WritePolicy(int upstreamPort, int proxyPort)
    {
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, $"""
            site:
              id: e2e
              name: End-to-end site on loopback
            controller:
              proxy:
                listen: ["127.0.0.1:{proxyPort}"]
                certificate:
                  file: {_certPath}
                  key_file: {_keyPath}
                upstream_ca: {_certPath}
              management:
                listen: ["127.0.0.1:9410"]
                api_keys_file: {Path.Combine(_dir, "api-keys")}
              store:
                path: {Path.Combine(_dir, "segctl.db")}
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
                    subnets: [127.0.110.0/24]
                upstreams:
                  - name: crm
                    hosts: [alpha.test]
                    destinations: ["https://127.0.0.1:{upstreamPort}"]
                notify:
                  - name: Alpha SOC
                    webhook:
                      url: "https://127.0.0.1:{upstreamPort}/hook"
                      secret:
                        file: {Path.Combine(_dir, "hook.key")}
              - id: beta
                name: Beta Telecom
                contract_end: 2028-12-31
                segments:
                  - name: agents
                    vlans: [120]
                    subnets: [127.0.120.0/24]
                upstreams:
                  - name: crm
                    hosts: [beta.test]
                    destinations: ["https://127.0.0.1:{upstreamPort}"]
            """);
        return path;
    }

    private async Task<WebApplication> StartUpstreamAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.UseHttps(h =>
            {
                h.ServerCertificate = _certificate;
                h.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            });
        }));
        var app = builder.Build();
        app.MapPost("/hook", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            lock (_notices)
            {
                _notices.Add(body);
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapFallback(c =>
        {
            lock (_upstreamPaths)
            {
                _upstreamPaths.Add(c.Request.Path.Value ?? string.Empty);
            }

            return c.Response.WriteAsync($"upstream saw {c.Request.Host.Host}");
        });
        await app.StartAsync();
        return app;
    }

    private HttpClient Agent(int proxyPort, string source = AlphaAgent)
    {
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        trust.CustomTrustStore.Add(_certificate);
        return new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                await socket.ConnectAsync(IPAddress.Loopback, proxyPort, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = trust },
        });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
