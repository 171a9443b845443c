// Side-by-side benchmark: bare YARP vs segctl's proxy (enforcement + access records), same upstream,
// same certificate, same load generator (wrk); then kill-switch timing over 100 trips under load.
// Prints figures and ratios; asserts nothing.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy;
using SegmentController.Proxy.Benchmarks;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

var duration = args.Length > 0 ? args[0] : "10s";
var connections = args.Length > 1 ? args[1] : "32";
var trips = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
var dir = Directory.CreateTempSubdirectory("segctl-bench-").FullName;
try
{
    var pki = BenchPki.Create(dir);
    await using var upstream = await StartAsync(app => app.Run(c => c.Response.WriteAsync("ok")), pki.Certificate);
    var upstreamUri = new Uri($"https://127.0.0.1:{Port(upstream)}/");

    await using var bare = await StartBareYarpAsync(pki.Certificate, pki.CaPath, upstreamUri);
    var policy = new FixedPolicy(new SitePolicy
    {
        Site = new SiteInfo { Id = "bench", Name = "bench" },
        Controller = new ControllerSettings
        {
            Proxy = new ProxySettings
            {
                Listen = ["127.0.0.1:0"],
                Certificate = new CertificateReference { File = pki.CertPath, KeyFile = pki.KeyPath },
                UpstreamCaFile = pki.CaPath,
            },
        },
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Restore = new RestoreSettings { Approvers = 1 },
        Clients =
        [
            new ClientDefinition
            {
                Id = "acme",
                Name = "acme",
                ContractEnd = new DateOnly(2030, 1, 1),
                Segments = [new Segment { Name = "bench", Subnets = [IPNetwork.Parse("127.0.0.1/32")] }],
                Upstreams = [new Upstream { Name = "crm", Hosts = ["acme.test"], Destinations = [upstreamUri] }],
                Kill = new KillActions { ShutPorts = false },
            },
        ],
    });
    SuspensionEngine? engine = null;
    using var components = new ProxyComponents(policy, () => engine!, new NullMetrics());
    engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(dir, "suspension.state")), policy, components.Enforcers, [], [], [], TimeProvider.System);
    // segctl as it runs at a site: every access record durable in the SQLite evidence store (hash
    // chained, batched commits) before the request completes; and, to split the cost, the same proxy
    // with records serialized into memory only.
    await using var store = await SqliteEvidenceStore.OpenAsync(
        new StoreOptions { Path = Path.Combine(dir, "evidence.db"), SigningKeyFile = Path.Combine(dir, "evidence.key.pem") }, TimeProvider.System, CancellationToken.None);
    var segctl = ProxyServer.Create(components, policy, engine, new NullFindings(), store, new NullMetrics(), TimeProvider.System, NullLoggerFactory.Instance);
    await segctl.StartAsync(CancellationToken.None);
    var segctlPort = new Uri(segctl.Addresses[0]).Port;
    var memory = ProxyServer.Create(components, policy, engine, new NullFindings(), new MemoryAppender(), new NullMetrics(), TimeProvider.System, NullLoggerFactory.Instance);
    await memory.StartAsync(CancellationToken.None);

    // Each target warmed up (JIT, TLS sessions, pools) and then measured in three interleaved rounds, so
    // a noisy moment of a shared machine does not fall on one target only; the median round counts.
    int[] ports = [Port(bare), new Uri(memory.Addresses[0]).Port, segctlPort];
    foreach (var port in ports)
    {
        await WrkAsync(port, "3s", connections);
    }

    var rounds = ports.Select(_ => new List<(double Rps, double P50Ms, double P99Ms)>()).ToArray();
    for (var round = 0; round < 3; round++)
    {
        for (var i = 0; i < ports.Length; i++)
        {
            rounds[i].Add(await WrkAsync(ports[i], duration, connections));
        }
    }

    var (bareResult, memoryResult, segctlResult) = (Median(rounds[0]), Median(rounds[1]), Median(rounds[2]));
    await memory.DisposeAsync();
    var recorded = (await store.VerifyAsync(CancellationToken.None)).Count;
    Console.WriteLine($"bare YARP                     : {bareResult.Rps,10:F0} req/s  p50 {bareResult.P50Ms:F3} ms  p99 {bareResult.P99Ms:F3} ms");
    Console.WriteLine($"segctl, records in memory     : {memoryResult.Rps,10:F0} req/s  p50 {memoryResult.P50Ms:F3} ms  p99 {memoryResult.P99Ms:F3} ms");
    Console.WriteLine($"segctl, records durable (SQLite): {segctlResult.Rps,8:F0} req/s  p50 {segctlResult.P50Ms:F3} ms  p99 {segctlResult.P99Ms:F3} ms  ({recorded} records in the chain, verified)");
    Console.WriteLine($"throughput ratio segctl/bare: {segctlResult.Rps / bareResult.Rps:F3} durable, {memoryResult.Rps / bareResult.Rps:F3} in memory (target >= 0.85)");
    Console.WriteLine($"added p50 latency: {(segctlResult.P50Ms - bareResult.P50Ms) * 1000:F0} us durable, {(memoryResult.P50Ms - bareResult.P50Ms) * 1000:F0} us in memory (target <= 100 us)");

    await KillTimingAsync(engine, segctlPort, pki.CaPath, trips);
    await segctl.DisposeAsync();
    engine.Dispose();
}
finally
{
    Directory.Delete(dir, recursive: true);
}

static async Task KillTimingAsync(SuspensionEngine engine, int port, string caPath, int trips)
{
    using var stop = new CancellationTokenSource();
    var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
    trust.CustomTrustStore.ImportFromPemFile(caPath);
    var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
    {
        using var client = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = trust },
        });
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await client.GetAsync(new Uri("https://acme.test/"), stop.Token);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or System.Net.Sockets.SocketException)
            {
            }
        }
    })).ToArray();

    await Task.Delay(1000);
    var ack = new List<double>();
    var gate = new List<double>();
    var inflight = new List<double>();
    var persist = new List<double>();
    for (var i = 0; i < trips; i++)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "bench", Reason = "timing" }, CancellationToken.None);
        ack.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        persist.Add(result.Record.Stages.Single(s => s.Stage == SuspensionStage.Persist).Duration.TotalMilliseconds);
        gate.Add(result.Record.Stages.Single(s => s.Stage == SuspensionStage.Gate).Duration.TotalMilliseconds);
        inflight.Add(result.Record.Stages.Single(s => s.Stage == SuspensionStage.InFlight).Duration.TotalMilliseconds);
        await result.Completion;
        await engine.RequestRestoreAsync("acme", "bench", "timing", CancellationToken.None);
        await Task.Delay(30);
    }

    await stop.CancelAsync();
    await Task.WhenAll(load);
    Console.WriteLine($"kill timing over {trips} trips under load (ms):");
    Console.WriteLine($"  acknowledgement (TripAsync, includes fsync) p50 {Percentile(ack, 50):F3} p99 {Percentile(ack, 99):F3} (target p99 <= 5)");
    Console.WriteLine($"  persist stage                               p50 {Percentile(persist, 50):F3} p99 {Percentile(persist, 99):F3}");
    Console.WriteLine($"  gate stage (connections cut)                p50 {Percentile(gate, 50):F3} p99 {Percentile(gate, 99):F3} (target <= 1)");
    Console.WriteLine($"  in-flight stage (aborts issued)             p50 {Percentile(inflight, 50):F3} p99 {Percentile(inflight, 99):F3} (target <= 50)");
}

static double Percentile(List<double> values, int p)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

static async Task<(double Rps, double P50Ms, double P99Ms)> WrkAsync(int port, string duration, string connections)
{
    var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true };
    foreach (var a in new[] { "-t2", $"-c{connections}", $"-d{duration}", "--latency", "-H", "Host: acme.test", $"https://127.0.0.1:{port}/" })
    {
        start.ArgumentList.Add(a);
    }

    using var process = Process.Start(start)!;
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    var rps = double.Parse(Regex.Match(output, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
    return (rps, LatencyMs(output, "50%"), LatencyMs(output, "99%"));
}

static (double Rps, double P50Ms, double P99Ms) Median(List<(double Rps, double P50Ms, double P99Ms)> runs) =>
    runs.OrderBy(r => r.Rps).ElementAt(runs.Count / 2);

static double LatencyMs(string output, string percentile)
{
    var m = Regex.Match(output, percentile + @"\s+([\d.]+)(us|ms|s)");
    var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
}

static int Port(WebApplication app) =>
    new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

static async Task<WebApplication> StartAsync(Action<WebApplication> configure, X509Certificate2 certificate, Action<WebApplicationBuilder>? services = null)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.AddServerHeader = false;
        k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.UseHttps(h =>
            {
                h.ServerCertificate = certificate;
                h.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            });
        });
    });
    services?.Invoke(builder);
    var app = builder.Build();
    configure(app);
    await app.StartAsync();
    return app;
}

static Task<WebApplication> StartBareYarpAsync(X509Certificate2 certificate, string caPath, Uri upstream) =>
    StartAsync(
        app => app.MapReverseProxy(),
        certificate,
        builder =>
        {
            builder.Services.AddSingleton<IForwarderHttpClientFactory>(new TrustingFactory(caPath));
            builder.Services.AddReverseProxy().LoadFromMemory(
                [new RouteConfig { RouteId = "acme", ClusterId = "acme", Match = new RouteMatch { Hosts = ["acme.test"], Path = "/{**rest}" } }],
                [new ClusterConfig { ClusterId = "acme", Destinations = new Dictionary<string, DestinationConfig> { ["d0"] = new() { Address = upstream.AbsoluteUri } } }]);
        });

/// <summary>YARP's own client factory with the same trust as segctl (the bench CA, not accept-any).</summary>
internal sealed class TrustingFactory(string caPath) : ForwarderHttpClientFactory
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        trust.CustomTrustStore.ImportFromPemFile(caPath);
        handler.SslOptions.CertificateChainPolicy = trust;
        handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
    }
}
