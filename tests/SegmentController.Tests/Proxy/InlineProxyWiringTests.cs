using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Hosting;
using SegmentController.Metrics;
using SegmentController.Proxy;

namespace SegmentController.Tests.Proxy;

/// <summary>
/// <c>AddControllerCore</c> + <c>AddInlineProxy</c> as <c>segctl run</c> would wire them: a real proxy
/// listener, a critical finding through the pipeline trips the client, metrics follow.
/// </summary>
public sealed class InlineProxyWiringTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-wiring-").FullName;
    private readonly X509Certificate2 _certificate;
    private readonly string _certPath;
    private readonly string _keyPath;

    public InlineProxyWiringTests()
    {
        // One self-signed certificate serves the upstream and the proxy and is the upstream CA bundle.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=wiring", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("acme.test");
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
    public async Task CriticalFindingThroughPipeline_TripsClientAndCutsProxy()
    {
        await using var upstream = await StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var policy = new FixedPolicy(Policy(upstreamPort));

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddControllerCore(policy);
        builder.Services.AddSingleton<IRecordAppender>(new CountingAppender());
        builder.Services.AddInlineProxy();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var proxy = host.Services.GetServices<IHostedService>().OfType<InlineProxyService>().Single();
            var port = new Uri(proxy.Addresses[0]).Port;
            var metrics = host.Services.GetRequiredService<ControllerMetrics>();

            using (var agent = Agent(port))
            {
                Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);
            }

            Assert.Equal(1, metrics.ProxyRequestsTotal.WithLabels("acme", "forwarded").Value);

            await host.Services.GetRequiredService<IFindingSink>().PublishAsync(
                [Finding.Create(RuleIds.CrossClientFlow, ["acme"], "acme reached globex", new Dictionary<string, object?>(), DateTimeOffset.UtcNow)],
                CancellationToken.None);

            Assert.True(host.Services.GetRequiredService<SuspensionEngine>().IsSuspended("acme"));
            Assert.Equal(1, metrics.ClientSuspended.WithLabels("acme").Value);
            Assert.Equal(1, metrics.KillswitchTripsTotal.WithLabels("acme", "finding").Value);
            Assert.True(File.Exists(Path.Combine(_dir, "suspension.state")));
            using var after = Agent(port);
            await Assert.ThrowsAsync<HttpRequestException>(() => after.GetAsync(new Uri("https://acme.test/")));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private SitePolicy Policy(int upstreamPort) => new()
    {
        Site = new SiteInfo { Id = "wiring", Name = "wiring" },
        Controller = new ControllerSettings
        {
            Proxy = new ProxySettings
            {
                Listen = ["127.0.0.1:0"],
                Certificate = new CertificateReference { File = _certPath, KeyFile = _keyPath },
                UpstreamCaFile = _certPath,
            },
            Store = new StoreSettings { Path = Path.Combine(_dir, "segctl.db") },
        },
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Clients =
        [
            new ClientDefinition
            {
                Id = "acme",
                Name = "acme",
                ContractEnd = new DateOnly(2030, 1, 1),
                Segments = [new Segment { Name = "agents", Subnets = [IPNetwork.Parse("127.0.1.0/24")] }],
                Upstreams = [new Upstream { Name = "crm", Hosts = ["acme.test"], Destinations = [new Uri($"https://127.0.0.1:{upstreamPort}/")] }],
                Kill = new KillActions { ShutPorts = false },
            },
        ],
    };

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
        app.Run(c => c.Response.WriteAsync("ok"));
        await app.StartAsync();
        return app;
    }

    private HttpClient Agent(int port)
    {
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        trust.CustomTrustStore.Add(_certificate);
        return new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.1.30"), 0));
                await socket.ConnectAsync(IPAddress.Loopback, port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = trust },
        });
    }

    private sealed class FixedPolicy(SitePolicy policy) : IPolicyProvider
    {
        public SitePolicy Current { get; } = policy;

        public event EventHandler<SitePolicy>? PolicyChanged
        {
            add { }
            remove { }
        }
    }

    private sealed class CountingAppender : IRecordAppender
    {
        private long _index;

        public StoreHealth Health { get; } = StoreHealth.Healthy(DateTimeOffset.UtcNow);

        public event EventHandler<StoreHealth>? HealthChanged
        {
            add { }
            remove { }
        }

        public ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Interlocked.Increment(ref _index));
    }
}
