using System.Collections.Concurrent;
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
using Microsoft.Extensions.Logging;

namespace SegmentController.Tests.Infrastructure;

/// <summary>
/// Two clients on loopback behind the real inline proxy: alpha's agents in 127.0.110.0/24, beta's in
/// 127.0.120.0/24, both clients' systems on one real HTTPS upstream that records every path it is asked
/// for and every incident notice posted to <c>/hook</c>. One self-signed certificate serves the upstream
/// and the proxy and is the CA bundle.
/// </summary>
internal sealed class LoopbackProxySite : IDisposable
{
    public const string AlphaAgent = "127.0.110.5";
    public const string BetaAgent = "127.0.120.5";

    private readonly X509Certificate2 _certificate;
    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly ConcurrentQueue<string> _upstreamPaths = new();
    private readonly ConcurrentQueue<string> _notices = new();

    public LoopbackProxySite(string name)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"segctl-{name}-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=segctl-{name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("alpha.test");
        san.AddDnsName("beta.test");
        san.AddDnsName("legacy.test");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificatePath = File("cert.pem");
        _keyPath = File("key.pem");
        System.IO.File.WriteAllText(_certificatePath, created.ExportCertificatePem());
        System.IO.File.WriteAllText(_keyPath, key.ExportPkcs8PrivateKeyPem());
        _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Where the policy, keys, store and state live; removed on dispose.</summary>
    public string Directory { get; }

    /// <summary>Every path the upstream was asked for, in order.</summary>
    public IReadOnlyList<string> UpstreamPaths => [.. _upstreamPaths];

    /// <summary>Every body posted to the upstream's <c>/hook</c>.</summary>
    public IReadOnlyList<string> Notices => [.. _notices];

    public string File(string name) => Path.Combine(Directory, name);

    /// <summary>The upstream: answers "upstream saw HOST" and records the path; takes notices on <c>POST /hook</c>.</summary>
    public async Task<WebApplication> StartUpstreamAsync()
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
            _notices.Enqueue(await reader.ReadToEndAsync());
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapFallback(c =>
        {
            _upstreamPaths.Enqueue(c.Request.Path.Value ?? string.Empty);
            return c.Response.WriteAsync($"upstream saw {c.Request.Host.Host}");
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// The site policy: the proxy on <paramref name="proxyPort"/>, both clients' upstreams on
    /// <paramref name="upstreamPort"/>, the SQLite store and API keys file in <see cref="Directory"/>;
    /// with <paramref name="alphaWebhook"/>, alpha's SOC takes incident notices on the upstream's /hook.
    /// </summary>
    public string WritePolicy(string siteId, int upstreamPort, int proxyPort, bool alphaWebhook = false)
    {
        var notify = "";
        if (alphaWebhook)
        {
            System.IO.File.WriteAllText(File("hook.key"), "webhook-key\n");
            notify = $"""

                    notify:
                      - name: Alpha SOC
                        webhook:
                          url: "https://127.0.0.1:{upstreamPort}/hook"
                          secret:
                            file: {File("hook.key")}
                """;
        }

        var path = File("site.yaml");
        System.IO.File.WriteAllText(path, $"""
            site:
              id: {siteId}
              name: Two clients on loopback
            controller:
              proxy:
                listen: ["127.0.0.1:{proxyPort}"]
                certificate:
                  file: {_certificatePath}
                  key_file: {_keyPath}
                upstream_ca: {_certificatePath}
              management:
                listen: ["127.0.0.1:9410"]
                api_keys_file: {File("api-keys")}
              store:
                path: {File("segctl.db")}
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
                    destinations: ["https://127.0.0.1:{upstreamPort}"]{notify}
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

    /// <summary>
    /// An agent of the client whose segment holds <paramref name="source"/>: every request a new TLS
    /// connection from that address to the proxy; relative URIs go to its own client's system.
    /// </summary>
    public HttpClient Agent(string source, int proxyPort)
    {
        var trust = ChainPolicy();
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

    /// <summary>Trust in the site's one certificate, which the proxy serves, and nothing else.</summary>
    public X509ChainPolicy ChainPolicy()
    {
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        trust.CustomTrustStore.Add(_certificate);
        return trust;
    }

    public static int FreePort() => global::SegmentController.Snmp.Tests.Infrastructure.FreePort.Tcp();

    public void Dispose()
    {
        _certificate.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
