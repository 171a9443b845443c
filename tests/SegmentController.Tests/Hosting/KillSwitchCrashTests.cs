using System.Collections.Concurrent;
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
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The real <c>segctl run</c> process, killed with SIGKILL right after it acknowledged a trip — no
/// shutdown, no flush — and started again: the client is still suspended and nothing reaches its upstream.
/// </summary>
public sealed class KillSwitchCrashTests : IAsyncDisposable
{
    private const string AlphaAgent = "127.0.110.5";
    private const string BetaAgent = "127.0.120.5";
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-crash-").FullName;
    private readonly X509Certificate2 _certificate;
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly ConcurrentQueue<string> _upstreamHits = new();

    public KillSwitchCrashTests()
    {
        // One self-signed certificate serves the upstream and the proxy, and is the CA bundle.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=segctl-crash", key, HashAlgorithmName.SHA256);
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
    public async Task Sigkilled_RightAfterTheTripIsAcknowledged_RestartedStillSuspended_NothingReachesTheUpstream()
    {
        await using var upstream = await StartUpstreamAsync();
        var proxyPort = FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["alice"] = OperatorApiSite.NewKey(), ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("alice", "operator"), ("val", "viewer"));
        var policy = WritePolicy(new Uri(upstream.Urls.First()).Port, proxyPort);
        using var alpha = Agent(AlphaAgent, proxyPort);
        using var beta = Agent(BetaAgent, proxyPort);

        await using (var first = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await first.WaitForManagementAsync(TimeSpan.FromSeconds(90));
            await WaitForProxyAsync(alpha, first);
            Assert.Contains("/alpha/before", _upstreamHits);

            using var operatorApi = Api(management, keys["alice"]);
            using var suspended = await operatorApi.PostAsync(new Uri("api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("crash drill"));

            // The acknowledgement, and at once the crash: no graceful stop, no flush of anything.
            first.Signal(NativeMethods.SigKill);
            Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
            Assert.Equal(137, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var hitsAtCrash = _upstreamHits.Count;
        await using var second = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var restarted = await second.WaitForManagementAsync(TimeSpan.FromSeconds(90));
        await WaitForProxyAsync(beta, second);

        using var viewer = Api(restarted, keys["val"]);
        using (var status = JsonDocument.Parse(await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative))))
        {
            var clients = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
            Assert.Equal("suspended", clients["alpha"]);
            Assert.Equal("active", clients["beta"]);
        }

        for (var i = 0; i < 5; i++)
        {
            var failure = await Record.ExceptionAsync(async () => (await alpha.GetAsync(new Uri($"https://alpha.test/alpha/after/{i}"))).Dispose());
            Assert.True(failure is HttpRequestException or IOException or SocketException, failure?.ToString() ?? "alpha was answered");
        }

        Assert.DoesNotContain(_upstreamHits, h => h.StartsWith("/alpha/", StringComparison.Ordinal) && h != "/alpha/before");
        Assert.Equal(hitsAtCrash + 1, _upstreamHits.Count); // beta's request that showed the restarted proxy up
        var metrics = await viewer.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);

        // The chain holds the suspension even if the crash came before its record was written.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!StoreFile.Read(Path.Combine(_dir, "segctl.db"), new RecordQuery { Type = RecordTypes.Suspension, Client = "alpha" })
            .Any(r => JsonDocument.Parse(r.Payload!.Value).RootElement.GetProperty("event").GetString() == "in-force-at-start"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no in-force-at-start record of alpha's suspension");
            await Task.Delay(100);
        }
    }

    private static async Task WaitForProxyAsync(HttpClient agent, SegctlProcess segctl)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await agent.GetAsync(new Uri(agent.BaseAddress!, "before"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"the proxy never answered; segctl said: {segctl.StandardOutput} {segctl.StandardError}");
            await Task.Delay(100);
        }
    }

    private static HttpClient Api(Uri management, string key)
    {
        var client = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private HttpClient Agent(string source, int proxyPort)
    {
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        trust.CustomTrustStore.Add(_certificate);
        var host = source == AlphaAgent ? "alpha" : "beta";
        return new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                    await socket.ConnectAsync(IPAddress.Loopback, proxyPort, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = trust },
            PooledConnectionLifetime = TimeSpan.Zero,
        })
        {
            BaseAddress = new Uri($"https://{host}.test/{host}/"),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    private string WritePolicy(int upstreamPort, int proxyPort)
    {
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, $"""
            site:
              id: crash
              name: Crash drill on loopback
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
        app.Run(context =>
        {
            _upstreamHits.Enqueue(context.Request.Path.Value ?? "");
            return context.Response.WriteAsync("upstream");
        });
        await app.StartAsync();
        return app;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
