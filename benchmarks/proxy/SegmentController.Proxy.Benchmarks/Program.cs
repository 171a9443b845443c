// Side-by-side benchmark: bare YARP vs segctl's proxy (enforcement, access records, and the controller's own
// proxy metrics and finding pipeline), same routes, same upstream, same certificate. HTTP/1.1 load from wrk
// (saturation and two fixed loads, three targets) and HTTP/2 load from h2load (saturation, the same three
// targets); then kill-switch timing over N trips under load, seen from outside the proxy:
// acknowledgement latency, when new connections are first refused, when the clients of in-flight requests
// (four downloads and a WebSocket exchanging messages) see them cut. Prints figures and ratios; asserts nothing.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
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
using SegmentController.Evidence;
using SegmentController.Findings;
using SegmentController.Metrics;
using SegmentController.Proxy;
using SegmentController.Proxy.Benchmarks;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

var duration = args.Length > 0 ? args[0] : "2s";
var connections = args.Length > 1 ? args[1] : "32";
var trips = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
var roundCount = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 30;

// SEGCTL_BENCH_ONLY=h2: the HTTP/2 rounds alone (no HTTP/1.1 phases, no trips), a few minutes instead of thirteen.
// SEGCTL_BENCH_ONLY=trips: the kill timing alone, after the segctl target is warmed up under wrk (no rounds).
// SEGCTL_BENCH_STORE_RECORDS=N: the SQLite store is given N access records before the first phase, as a site's
// store, which holds years of them, would be (what a record costs the writer grows with the database file).
var only = Environment.GetEnvironmentVariable("SEGCTL_BENCH_ONLY") ?? "";
if (only is not ("" or "h2" or "trips"))
{
    Console.Error.WriteLine($"SEGCTL_BENCH_ONLY={only}: the phases that run alone are h2 and trips");
    Environment.Exit(2);
}

var storeRecordsText = Environment.GetEnvironmentVariable("SEGCTL_BENCH_STORE_RECORDS") ?? "0";
if (!long.TryParse(storeRecordsText, NumberStyles.None, CultureInfo.InvariantCulture, out var storeRecords))
{
    Console.Error.WriteLine($"SEGCTL_BENCH_STORE_RECORDS={storeRecordsText}: not a number of records");
    Environment.Exit(2);
}

var http1 = only.Length == 0;
var h2 = only is "" or "h2";
var killTiming = only is "" or "trips";
var dir = Directory.CreateTempSubdirectory("segctl-bench-").FullName;
try
{
    var pki = BenchPki.Create(dir);
    await using var upstream = await StartAsync(
        app =>
        {
            app.UseWebSockets();
            app.Run(ServeAsync);
        },
        pki.Certificate);
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
    // The controller's own metrics, as segctl run has them (ControllerMetrics on a registry of its own, the
    // proxy's through ControllerProxyMetrics): every request counted in segctl_proxy_requests_total{client,
    // outcome} and timed in segctl_proxy_request_duration_seconds{client}, every gate drop counted in
    // segctl_proxy_connections_refused_total{client}. Each segctl target has its own registry; the SQLite
    // target's is also the gate's and the in-flight tracker's (ProxyComponents), as at a site.
    var siteMetrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
    var memoryMetrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
    SuspensionEngine? engine = null;
    var siteProxyMetrics = new ControllerProxyMetrics(siteMetrics);
    using var components = new ProxyComponents(policy, () => engine!, siteProxyMetrics);
    engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(dir, "suspension.state")), policy, components.Enforcers, [], [], [], TimeProvider.System);
    // segctl as it runs at a site: every access record handed to the SQLite evidence store (hash chained,
    // batched fsynced commits) as its request ends, durable with the store's next batch, at most 512 not
    // yet durable at once (requests wait beyond that); and, to split the cost, the same proxy with records
    // serialized into memory only. Findings go through the controller's finding pipeline (counted in
    // segctl_findings_total, kept for status, logged) to its recorder into the target's own store; the
    // incident queue and the suspension consumer that a site adds behind it are left out (the first is read
    // by the incident service, the second would trip clients). The benchmark's requests make no finding
    // (every one is acme's, to acme's upstream): the pipeline is wired, not exercised, and the count printed.
    await using var store = await SqliteEvidenceStore.OpenAsync(
        new StoreOptions { Path = Path.Combine(dir, "evidence.db"), SigningKeyFile = Path.Combine(dir, "evidence.key.pem") }, TimeProvider.System, CancellationToken.None);
    if (storeRecords > 0)
    {
        var filling = Stopwatch.StartNew();
        await FillStoreAsync(store, storeRecords, upstreamUri);
        Console.WriteLine($"store given {storeRecords} access records before the first phase in {filling.Elapsed.TotalSeconds:F1} s: {new FileInfo(Path.Combine(dir, "evidence.db")).Length / 1e6:F0} MB");
    }

    var siteFindings = new FindingPipeline(siteMetrics, [new FindingRecorder(store, policy)], NullLogger<FindingPipeline>.Instance);
    var segctl = ProxyServer.Create(components, policy, engine, siteFindings, store, siteProxyMetrics, TimeProvider.System, NullLoggerFactory.Instance);
    await segctl.StartAsync(CancellationToken.None);
    var segctlPort = new Uri(segctl.Addresses[0]).Port;
    var memoryRecords = new MemoryAppender();
    var memoryFindings = new FindingPipeline(memoryMetrics, [new FindingRecorder(memoryRecords, policy)], NullLogger<FindingPipeline>.Instance);
    var memory = ProxyServer.Create(components, policy, engine, memoryFindings, memoryRecords, new ControllerProxyMetrics(memoryMetrics), TimeProvider.System, NullLoggerFactory.Instance);
    await memory.StartAsync(CancellationToken.None);

    // Each target warmed up (JIT, TLS sessions, pools) and then measured in interleaved rounds, so
    // a noisy moment of a shared machine does not fall on one target only. Two summaries: each target's
    // median round, and the median of the rounds' own ratios (each round's targets ran back to back, so
    // a slow stretch of the machine moves them together).
    int[] ports = [Port(bare), new Uri(memory.Addresses[0]).Port, segctlPort];

    // Warm-up until the JIT is quiet: tiered compilation goes on re-compiling hot methods (with PGO) for
    // tens of seconds of load, on its own thread, and that CPU would be charged to whichever target runs
    // meanwhile. A site's proxy runs for weeks: what is compared is the steady state. Passes of 3 s per
    // target until one pass spends under 50 ms compiling (at most 15 passes).
    var open = double.Parse(connections, CultureInfo.InvariantCulture);
    if (http1)
    {
        var passes = 0;
        TimeSpan passJit;
        do
        {
            var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
            foreach (var port in ports)
            {
                await WrkAsync(port, "3s", connections);
            }

            passJit = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
            passes++;
        }
        while (passJit > TimeSpan.FromMilliseconds(50) && passes < 15);
        var jitAtStart = System.Runtime.JitInfo.GetCompilationTime();

        // The machine's load drifts within seconds (bare YARP alone moves by a fifth from one 5 s run to
        // the next): short rounds keep a round's three targets close in time, many rounds let the median of
        // the rounds' own ratios settle, and each round starts with a different target, so none always runs
        // right after another.
        var rounds = ports.Select(_ => new List<(double Rps, double P50Ms, double P99Ms, double CpuUs)>()).ToArray();
        for (var round = 0; round < roundCount; round++)
        {
            for (var k = 0; k < ports.Length; k++)
            {
                var i = (round + k) % ports.Length;
                rounds[i].Add(await WrkAsync(ports[i], duration, connections));
            }
        }

        var (bareResult, memoryResult, segctlResult) = (Median(rounds[0]), Median(rounds[1]), Median(rounds[2]));

        // Latency at fixed loads: at saturation a closed-loop generator's mean latency is its connections
        // divided by the throughput, so there the added latency restates the throughput ratio. Here each
        // connection pauses after every answer (wrk's delay(); the latency counts from the request's write),
        // the same offered load for every target: a moderate one (16 connections, 2 ms) and a heavy one (32
        // connections, 1 ms: well over half of what segctl serves at saturation). As many rounds as at
        // saturation: a round's p50 moves by tens of microseconds on this machine.
        (string Connections, int PauseMs)[] pacedLoads = [("16", 2), ("32", 1)];
        var pacedByLoad = new List<List<(double Rps, double P50Ms, double P99Ms, double CpuUs)>[]>();
        foreach (var (pacedConnections, pauseMs) in pacedLoads)
        {
            var paced = Path.Combine(dir, $"paced-{pauseMs}.lua");
            await File.WriteAllTextAsync(paced, $"function delay()\n  return {pauseMs}\nend\n");
            var pacedRounds = ports.Select(_ => new List<(double Rps, double P50Ms, double P99Ms, double CpuUs)>()).ToArray();
            for (var round = 0; round < roundCount; round++)
            {
                for (var k = 0; k < ports.Length; k++)
                {
                    var i = (round + k) % ports.Length;
                    pacedRounds[i].Add(await WrkAsync(ports[i], duration, pacedConnections, paced));
                }
            }

            pacedByLoad.Add(pacedRounds);
        }

        var measuredJit = System.Runtime.JitInfo.GetCompilationTime() - jitAtStart;
        var recorded = (await store.VerifyAsync(CancellationToken.None)).Count;
        Console.WriteLine($"garbage collector: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {System.Runtime.GCSettings.LatencyMode} (segctl ships with workstation, concurrent: Interactive)");
        Console.WriteLine($"warm-up: {passes} passes of 3 s per target until the JIT was quiet (last pass compiled for {passJit.TotalMilliseconds:F0} ms); JIT during the measured rounds: {measuredJit.TotalMilliseconds:F0} ms");
        Console.WriteLine($"bare YARP                     : {bareResult.Rps,10:F0} req/s  p50 {bareResult.P50Ms:F3} ms  p99 {bareResult.P99Ms:F3} ms  cpu {bareResult.CpuUs:F1} us/req");
        Console.WriteLine($"segctl, records in memory     : {memoryResult.Rps,10:F0} req/s  p50 {memoryResult.P50Ms:F3} ms  p99 {memoryResult.P99Ms:F3} ms  cpu {memoryResult.CpuUs:F1} us/req");
        Console.WriteLine($"segctl, records to SQLite     : {segctlResult.Rps,10:F0} req/s  p50 {segctlResult.P50Ms:F3} ms  p99 {segctlResult.P99Ms:F3} ms  cpu {segctlResult.CpuUs:F1} us/req  ({recorded} records in the chain, verified: a batch's access records are one)");
        Console.WriteLine($"  (cpu: this process, proxy and upstream, per request; rounds in order: {string.Join(" | ", Enumerable.Range(0, roundCount).Select(r => string.Join(" ", rounds.Select(t => $"{t[r].Rps:F0}/{t[r].CpuUs:F0}"))))} req/s/us for bare, memory, SQLite)");
        Console.WriteLine("  (each record handed to the store as its request ends, durable with the next batch; <= 512 pending)");
        Console.WriteLine($"each target's median round against bare YARP's: throughput ratio {segctlResult.Rps / bareResult.Rps:F3} with the SQLite store, {memoryResult.Rps / bareResult.Rps:F3} records in memory; added p50 {(segctlResult.P50Ms - bareResult.P50Ms) * 1000:F0} us / {(memoryResult.P50Ms - bareResult.P50Ms) * 1000:F0} us; added cpu {segctlResult.CpuUs - bareResult.CpuUs:F1} us / {memoryResult.CpuUs - bareResult.CpuUs:F1} us per request");

        // The headline figures: each round's own ratio (or difference) to bare YARP in that round, their
        // median over the rounds, and a 95 % confidence interval for that median read off the order
        // statistics (no assumption about the distribution of the rounds).
        string Paired(List<(double Rps, double P50Ms, double P99Ms, double CpuUs)>[] set, int target, Func<(double Rps, double P50Ms, double P99Ms, double CpuUs), (double Rps, double P50Ms, double P99Ms, double CpuUs), double> measure, string format)
        {
            var (median, low, high) = MedianWithInterval(Enumerable.Range(0, set[0].Count).Select(r => measure(set[target][r], set[0][r])));
            return $"{median.ToString(format, CultureInfo.InvariantCulture)} (95% CI {low.ToString(format, CultureInfo.InvariantCulture)} to {high.ToString(format, CultureInfo.InvariantCulture)})";
        }

        Console.WriteLine($"paired by round (median of {roundCount} rounds' own figures, with its 95% confidence interval):");
        Console.WriteLine($"  throughput ratio segctl/bare: {Paired(rounds, 2, (t, b) => t.Rps / b.Rps, "F3")} with the SQLite store, {Paired(rounds, 1, (t, b) => t.Rps / b.Rps, "F3")} records in memory (target >= 0.85)");
        Console.WriteLine($"  added p50 at saturation (us): {Paired(rounds, 2, (t, b) => (t.P50Ms - b.P50Ms) * 1000, "F0")} with the SQLite store, {Paired(rounds, 1, (t, b) => (t.P50Ms - b.P50Ms) * 1000, "F0")} records in memory");

        // Little's law for a closed loop: each connection always has one request out, so the mean latency is
        // the connections divided by the throughput, and the mean added at saturation follows from the
        // throughput ratio and the number of connections the generator happens to open.
        Console.WriteLine($"  mean added at saturation, fixed by the throughput ({open:F0} connections / throughput, us): {Paired(rounds, 2, (t, b) => (open / t.Rps - open / b.Rps) * 1e6, "F0")} with the SQLite store, {Paired(rounds, 1, (t, b) => (open / t.Rps - open / b.Rps) * 1e6, "F0")} records in memory");
        Console.WriteLine($"  added cpu per request (us): {Paired(rounds, 2, (t, b) => t.CpuUs - b.CpuUs, "F1")} with the SQLite store, {Paired(rounds, 1, (t, b) => t.CpuUs - b.CpuUs, "F1")} records in memory");

        for (var load = 0; load < pacedLoads.Length; load++)
        {
            var pacedRounds = pacedByLoad[load];
            var pacedMedian = pacedRounds.Select(r => r.OrderBy(x => x.P50Ms).ElementAt(r.Count / 2)).ToArray();
            Console.WriteLine($"fixed load ({pacedLoads[load].Connections} connections, {pacedLoads[load].PauseMs} ms pause after each answer; {roundCount} interleaved rounds, median round):");
            Console.WriteLine($"  bare YARP {pacedMedian[0].Rps:F0} req/s p50 {pacedMedian[0].P50Ms:F3} ms p99 {pacedMedian[0].P99Ms:F3} ms; segctl records in memory {pacedMedian[1].Rps:F0} req/s p50 {pacedMedian[1].P50Ms:F3} p99 {pacedMedian[1].P99Ms:F3}; segctl records to SQLite {pacedMedian[2].Rps:F0} req/s p50 {pacedMedian[2].P50Ms:F3} p99 {pacedMedian[2].P99Ms:F3}");
            Console.WriteLine($"  offered load as a share of segctl's (SQLite) median throughput at saturation: {pacedMedian[2].Rps / segctlResult.Rps:P0}");
            Console.WriteLine($"  added p50 latency at this load (paired by round, us): {Paired(pacedRounds, 2, (t, b) => (t.P50Ms - b.P50Ms) * 1000, "F0")} with the SQLite store, {Paired(pacedRounds, 1, (t, b) => (t.P50Ms - b.P50Ms) * 1000, "F0")} records in memory (target <= 100 us)");
        }

        Console.WriteLine($"segctl's metrics (each target's own registry), after the wrk rounds: segctl_proxy_requests_total{{client=\"acme\",outcome=\"forwarded\"}} {siteMetrics.ProxyRequestsTotal.WithLabels("acme", ProxyOutcomes.Forwarded).Value:F0} with the SQLite store, {memoryMetrics.ProxyRequestsTotal.WithLabels("acme", ProxyOutcomes.Forwarded).Value:F0} records in memory; segctl_proxy_request_duration_seconds{{client=\"acme\"}} observations {siteMetrics.ProxyRequestDuration.WithLabels("acme").Count} / {memoryMetrics.ProxyRequestDuration.WithLabels("acme").Count}; findings made {siteFindings.Recent.Count} / {memoryFindings.Recent.Count} (none expected)");
    }

    if (h2)
    {
        // HTTP/2 (wrk speaks HTTP/1.1 only): h2load against the same three targets. The agents' streams are
        // multiplexed: a quarter as many connections as wrk's (at least 2, one per h2load thread), 4 streams out
        // on each, so about as many requests in flight. Kestrel's and YARP's HTTP/2 code runs here for the first
        // time: warmed up as before (passes of 3 s, at most 5; at most 15 when the HTTP/1.1 phases did not warm
        // the rest up), then interleaved rounds of the same duration, two thirds as many as wrk's (at least 3):
        // under 3 minutes more for the default run. Records in memory split the store's share from segctl's own.
        var h2Clients = Math.Max(2, (int)open / 4);
        const int H2Streams = 4;
        int[] h2Ports = ports;
        var h2Passes = 0;
        TimeSpan h2PassJit;
        do
        {
            var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
            foreach (var port in h2Ports)
            {
                await H2loadAsync(port, "3s", h2Clients, H2Streams);
            }

            h2PassJit = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
            h2Passes++;
        }
        while (h2PassJit > TimeSpan.FromMilliseconds(50) && h2Passes < (http1 ? 5 : 15));
        var h2JitAtStart = System.Runtime.JitInfo.GetCompilationTime();
        var h2RoundCount = Math.Max(3, roundCount * 2 / 3);
        var h2Rounds = h2Ports.Select(_ => new List<(double Rps, double MeanMs, double CpuUs, long Failed)>()).ToArray();
        for (var round = 0; round < h2RoundCount; round++)
        {
            for (var k = 0; k < h2Ports.Length; k++)
            {
                var i = (round + k) % h2Ports.Length;
                h2Rounds[i].Add(await H2loadAsync(h2Ports[i], duration, h2Clients, H2Streams));
            }
        }

        var h2Jit = System.Runtime.JitInfo.GetCompilationTime() - h2JitAtStart;
        string H2Paired(int target, Func<(double Rps, double MeanMs, double CpuUs, long Failed), (double Rps, double MeanMs, double CpuUs, long Failed), double> measure, string format)
        {
            var (median, low, high) = MedianWithInterval(Enumerable.Range(0, h2RoundCount).Select(r => measure(h2Rounds[target][r], h2Rounds[0][r])));
            return $"{median.ToString(format, CultureInfo.InvariantCulture)} (95% CI {low.ToString(format, CultureInfo.InvariantCulture)} to {high.ToString(format, CultureInfo.InvariantCulture)})";
        }

        var (h2Bare, h2Memory, h2Segctl) = (h2Rounds[0].OrderBy(r => r.Rps).ElementAt(h2RoundCount / 2), h2Rounds[1].OrderBy(r => r.Rps).ElementAt(h2RoundCount / 2), h2Rounds[2].OrderBy(r => r.Rps).ElementAt(h2RoundCount / 2));
        Console.WriteLine($"HTTP/2 at saturation (h2load, {h2Clients} connections x {H2Streams} streams; warm-up {h2Passes} passes of 3 s per target, last compiled for {h2PassJit.TotalMilliseconds:F0} ms; JIT during the rounds {h2Jit.TotalMilliseconds:F0} ms; {h2RoundCount} interleaved rounds, median round):");
        Console.WriteLine($"  bare YARP {h2Bare.Rps:F0} req/s mean {h2Bare.MeanMs:F3} ms cpu {h2Bare.CpuUs:F1} us/req; segctl records in memory {h2Memory.Rps:F0} req/s mean {h2Memory.MeanMs:F3} ms cpu {h2Memory.CpuUs:F1} us/req; segctl records to SQLite {h2Segctl.Rps:F0} req/s mean {h2Segctl.MeanMs:F3} ms cpu {h2Segctl.CpuUs:F1} us/req; requests done but not answered 2xx/3xx in the rounds: {h2Rounds[0].Sum(r => r.Failed)} bare, {h2Rounds[1].Sum(r => r.Failed)} memory, {h2Rounds[2].Sum(r => r.Failed)} SQLite");
        Console.WriteLine($"  paired by round: throughput ratio segctl/bare {H2Paired(2, (t, b) => t.Rps / b.Rps, "F3")} with the SQLite store (target >= 0.85), {H2Paired(1, (t, b) => t.Rps / b.Rps, "F3")} records in memory; added mean latency (us) {H2Paired(2, (t, b) => (t.MeanMs - b.MeanMs) * 1000, "F0")} / {H2Paired(1, (t, b) => (t.MeanMs - b.MeanMs) * 1000, "F0")}; added cpu per request (us) {H2Paired(2, (t, b) => t.CpuUs - b.CpuUs, "F1")} / {H2Paired(1, (t, b) => t.CpuUs - b.CpuUs, "F1")}");
    }

    await memory.DisposeAsync();

    if (killTiming)
    {
        if (only == "trips")
        {
            // Alone, nothing else has warmed the code up: the segctl target under wrk until the JIT is quiet,
            // as the HTTP/1.1 warm-up would leave it (passes of 3 s, at most 15).
            var passes = 0;
            TimeSpan passJit;
            do
            {
                var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
                await WrkAsync(segctlPort, "3s", connections);
                passJit = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
                passes++;
            }
            while (passJit > TimeSpan.FromMilliseconds(50) && passes < 15);
            Console.WriteLine($"warm-up of the segctl target alone: {passes} passes of 3 s (last pass compiled for {passJit.TotalMilliseconds:F0} ms)");
        }

        await KillTimingAsync(engine, segctlPort, pki.CaPath, trips);
    }

    await segctl.DisposeAsync();
    engine.Dispose();
}
finally
{
    Directory.Delete(dir, recursive: true);
}

// Hands the store `count` access records through the proxy's own window (AccessRecords: one per request, at
// most 512 not yet durable at once), each a forwarded GET of acme's with the times and sizes varying as a site's would.
static async Task FillStoreAsync(SqliteEvidenceStore store, long count, Uri upstream)
{
    using var records = new SegmentController.Proxy.Access.AccessRecords(store, NullLogger<SegmentController.Proxy.Access.AccessRecords>.Instance);
    var key = SegmentController.Core.Evidence.ClientKey.Of(["acme"]);
    var start = DateTimeOffset.UtcNow;
    for (var i = 0L; i < count && records.Forwarding; i++)
    {
        await records.WriteAsync(key, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new SegmentController.Proxy.Access.AccessRecord
            {
                Time = start.AddTicks(i * 271),
                Client = "acme",
                Source = "127.0.0.1",
                Method = "GET",
                Host = "acme.test",
                Path = "/",
                Status = 200,
                BytesIn = 0,
                BytesOut = 13 + (i % 7),
                DurationSeconds = 0.0004 + ((i % 997) * 1e-7),
                Upstream = upstream.AbsoluteUri,
                RouteClient = "acme",
                Outcome = ProxyOutcomes.Forwarded,
            },
            SegmentController.Proxy.Access.AccessJsonContext.Default.AccessRecord));
    }

    while (records.Outstanding > 0 && records.Forwarding)
    {
        await Task.Delay(10);
    }

    if (!records.Forwarding)
    {
        throw new InvalidOperationException($"the store could not take the records it was given ({store.Health.LastError})");
    }
}

static async Task KillTimingAsync(SuspensionEngine engine, int port, string caPath, int trips)
{
    using var stop = new CancellationTokenSource();
    var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
    trust.CustomTrustStore.ImportFromPemFile(caPath);
    SocketsHttpHandler NewHandler() => new()
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, port, ct);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = trust },
    };
    HttpClient NewClient() => new(NewHandler());

    var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
    {
        using var client = NewClient();
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

    // Probers: new connections, one after another, each a raw ClientHello; a connection the gate drops
    // ends before any answer, an open one gets the ServerHello. Times are the probers' own observations.
    var attempts = new System.Collections.Concurrent.ConcurrentQueue<(long Started, long Ended, bool Refused)>();
    var probers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
    {
        var hello = SegmentController.Proxy.Forwarding.UpstreamTlsProbe.ClientHello("acme.test");
        var answer = new byte[1];
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            bool refused;
            try
            {
                using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                socket.Connect(IPAddress.Loopback, port);
                socket.Send(hello);
                refused = socket.Receive(answer) == 0;
            }
            catch (System.Net.Sockets.SocketException)
            {
                refused = true;
            }

            attempts.Enqueue((started, Stopwatch.GetTimestamp(), refused));
        }
    }) { IsBackground = true }).ToArray();
    foreach (var prober in probers)
    {
        prober.Start();
    }

    await Task.Delay(1000);

    // One trip first, not counted: the trip's code runs for the first time (JIT; a ReadyToRun publish
    // compiles it ahead). Its figure is printed on its own.
    var coldStarted = Stopwatch.GetTimestamp();
    var cold = await engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "bench", Reason = "timing (first trip)" }, CancellationToken.None);
    var coldAck = Stopwatch.GetElapsedTime(coldStarted).TotalMilliseconds;
    await cold.Completion;
    await engine.RequestRestoreAsync("acme", "bench", "timing", CancellationToken.None);
    await Task.Delay(30);

    var ack = new List<double>();
    var gcPause = new List<double>();
    var firstRefusal = new List<double>();
    var refusedAfterAckSeenAt = new List<double>();
    var refusalRoundTrip = new List<double>();
    var inflightCut = new List<double>();
    var webSocketCut = new List<double>();
    var webSocketEchoes = new List<int>();
    var persist = new List<double>();
    var persistDetail = new List<string?>();
    var gate = new List<double>();
    var inflight = new List<double>();
    var pool = new List<double>();
    var admittedAfterAck = 0;
    var notCut = 0;
    var webSocketsNotCut = 0;
    var ticksBefore = CpuTicks();
    for (var i = 0; i < trips; i++)
    {
        // An agent's WebSocket, open and exchanging when the trip comes (opened first, so it has exchanged
        // messages for as long as the downloads took to start); its agent notes when it sees it end.
        using var webSocketInvoker = new HttpMessageInvoker(NewHandler());
        var webSocketEnded = await OpenWebSocketAsync(webSocketInvoker);

        // Four downloads in flight, each streaming until cut; their clients note when they see the cut.
        var cuts = new Task<long>[4];
        var clients = new HttpClient[cuts.Length];
        for (var d = 0; d < cuts.Length; d++)
        {
            clients[d] = NewClient();
            var response = await clients[d].GetAsync(new Uri("https://acme.test/stream"), HttpCompletionOption.ResponseHeadersRead);
            var body = await response.Content.ReadAsStreamAsync();
            cuts[d] = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                try
                {
                    while (await body.ReadAsync(buffer) > 0)
                    {
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                }

                return Stopwatch.GetTimestamp();
            });
        }

        while (!attempts.IsEmpty)
        {
            attempts.TryDequeue(out _);
        }

        var pausedBefore = GC.GetTotalPauseDuration();
        var tripStarted = Stopwatch.GetTimestamp();
        var result = await engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "bench", Reason = "timing" }, CancellationToken.None);
        var acknowledged = Stopwatch.GetTimestamp();
        ack.Add(Stopwatch.GetElapsedTime(tripStarted, acknowledged).TotalMilliseconds);
        gcPause.Add((GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds);
        persist.Add(Stage(result, SuspensionStage.Persist));
        persistDetail.Add(result.Record.Stages.Single(s => s.Stage == SuspensionStage.Persist).Detail);
        gate.Add(Stage(result, SuspensionStage.Gate));
        inflight.Add(Stage(result, SuspensionStage.InFlight));
        pool.Add(Stage(result, SuspensionStage.UpstreamPool));

        var ended = await Task.WhenAll(cuts.Select(c => c.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : long.MaxValue, TaskScheduler.Default)));
        notCut += ended.Count(e => e == long.MaxValue);
        inflightCut.Add(Milliseconds(acknowledged, ended.Where(e => e != long.MaxValue).DefaultIfEmpty(acknowledged).Max()));
        var webSocket = await webSocketEnded.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : (Ended: long.MaxValue, Echoes: 0), TaskScheduler.Default);
        if (webSocket.Ended == long.MaxValue)
        {
            webSocketsNotCut++;
        }
        else
        {
            webSocketCut.Add(Milliseconds(acknowledged, webSocket.Ended));
            webSocketEchoes.Add(webSocket.Echoes);
        }

        await result.Completion;

        // Give the probers time to try after the acknowledgement, then read what they saw.
        await Task.Delay(20);
        var seen = attempts.ToArray();
        admittedAfterAck += seen.Count(a => a.Started > acknowledged && !a.Refused);
        var refusedAfterTrip = seen.Where(a => a.Refused && a.Ended > tripStarted).Select(a => a.Ended).DefaultIfEmpty(long.MaxValue).Min();
        firstRefusal.Add(refusedAfterTrip == long.MaxValue ? double.NaN : Milliseconds(acknowledged, refusedAfterTrip));
        var firstAfterAck = seen.Where(a => a.Started >= acknowledged).OrderBy(a => a.Started).FirstOrDefault();
        if (firstAfterAck.Refused)
        {
            refusedAfterAckSeenAt.Add(Milliseconds(acknowledged, firstAfterAck.Ended));
            refusalRoundTrip.Add(Milliseconds(firstAfterAck.Started, firstAfterAck.Ended));
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }

        await engine.RequestRestoreAsync("acme", "bench", "timing", CancellationToken.None);
        await Task.Delay(30);
    }

    var ticks = CpuTicks();
    await stop.CancelAsync();
    await Task.WhenAll(load);
    foreach (var prober in probers)
    {
        prober.Join();
    }

    var refusals = firstRefusal.Where(v => !double.IsNaN(v)).ToList();
    Console.WriteLine($"kill timing over {trips} trips under load (ms), after a first trip not counted (its acknowledgement: {coldAck:F3}, code run for the first time):");
    Console.WriteLine($"  acknowledgement (TripAsync: fsync, gate, in-flight, upstream pool) p50 {Percentile(ack, 50):F3} p99 {Percentile(ack, 99):F3} (target p99 <= 5)");
    // The garbage collector suspends every managed thread, the trip's too, whatever its priority: a
    // pause that falls inside a trip is part of its acknowledgement.
    var paused = Enumerable.Range(0, ack.Count).Where(t => gcPause[t] > 0).ToList();
    var unpaused = Enumerable.Range(0, ack.Count).Where(t => gcPause[t] == 0).Select(t => ack[t]).ToList();
    Console.WriteLine($"    trips a GC pause fell into: {paused.Count} (pause within the trip max {paused.Select(t => gcPause[t]).DefaultIfEmpty().Max():F3}); acknowledgement of the other {unpaused.Count}: p50 {Percentile(unpaused, 50):F3} p99 {Percentile(unpaused, 99):F3}");
    var inForce = Enumerable.Range(0, persist.Count).Select(t => persist[t] + gate[t] + inflight[t] + pool[t]).ToList();
    Console.WriteLine($"  in force by the engine's own clock (persist through upstream pool, the stages' sum) p50 {Percentile(inForce, 50):F3} p99 {Percentile(inForce, 99):F3}; the rest of the acknowledgement is outside the stages: taking the engine's lock, returning to the caller");
    Console.WriteLine($"    of which persist {Percentile(persist, 50):F3}/{Percentile(persist, 99):F3}, gate {Percentile(gate, 50):F3}/{Percentile(gate, 99):F3}, in-flight {Percentile(inflight, 50):F3}/{Percentile(inflight, 99):F3}, upstream pool {Percentile(pool, 50):F3}/{Percentile(pool, 99):F3} (p50/p99)");

    // The trip runs at real-time priority where permitted, so within this machine only the kernel, the
    // disk and the garbage collector can hold it up; the hypervisor still can (steal: time a virtual CPU
    // was runnable but not running). The slowest trips, stage by stage, say where a long one waited.
    var slowest = Enumerable.Range(0, ack.Count).OrderByDescending(t => ack[t]).Take(3);
    Console.WriteLine($"    slowest trips: {string.Join("; ", slowest.Select(t => $"trip {t + 1}: {ack[t]:F3} ({ack[t] - inForce[t]:F3} outside the stages; persist {persist[t]:F3}{(persistDetail[t] is { } detail ? $" ({detail})" : "")}, gate {gate[t]:F3}, in-flight {inflight[t]:F3}, upstream pool {pool[t]:F3}{(gcPause[t] > 0 ? $", GC pause {gcPause[t]:F3}" : "")})"))}");
    var stealShare = (ticks.Total - ticksBefore.Total) == 0 ? 0 : 100.0 * (ticks.Steal - ticksBefore.Steal) / (ticks.Total - ticksBefore.Total);
    Console.WriteLine($"    steal while the trips ran: {stealShare:F1} % of the machine's CPU time");
    Console.WriteLine($"  gate closed, seen from outside (4 probers opening connections back to back; target <= 1 after the acknowledgement):");
    Console.WriteLine($"    connections started after an acknowledgement that got a ServerHello: {admittedAfterAck} (the gate closes before the acknowledgement)");
    Console.WriteLine($"    first connection started after the acknowledgement: refused in {refusedAfterAckSeenAt.Count} of {trips} trips; its refusal seen p50 {Percentile(refusedAfterAckSeenAt, 50):F3} p99 {Percentile(refusedAfterAckSeenAt, 99):F3} after the acknowledgement (includes when a prober happened to start), {Percentile(refusalRoundTrip, 50):F3}/{Percentile(refusalRoundTrip, 99):F3} after the attempt began (p50/p99)");
    Console.WriteLine($"    first refusal of any probe since the trip began, relative to the acknowledgement: p50 {Percentile(refusals, 50):F3} p99 {Percentile(refusals, 99):F3} (negative: before it); trips without one: {firstRefusal.Count(double.IsNaN)}");
    Console.WriteLine($"  in-flight aborted, seen by their clients (after the acknowledgement; negative: before it):");
    Console.WriteLine($"    last of 4 downloads cut p50 {Percentile(inflightCut, 50):F3} p99 {Percentile(inflightCut, 99):F3} max {inflightCut.DefaultIfEmpty(double.NaN).Max():F3} (target <= 50); downloads not cut within 10 s: {notCut}");
    Console.WriteLine($"    the agent's WebSocket (a message each 5 ms, echoed) seen ended p50 {Percentile(webSocketCut, 50):F3} p99 {Percentile(webSocketCut, 99):F3} max {webSocketCut.DefaultIfEmpty(double.NaN).Max():F3} (target <= 100); echoes a WebSocket had received by then, fewest {webSocketEchoes.DefaultIfEmpty().Min()}; WebSockets not ended within 10 s: {webSocketsNotCut}");
}

// The machine's CPU time so far in clock ticks (/proc/stat): steal, and every state together.
static (long Steal, long Total) CpuTicks()
{
    var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
    return (fields.Length > 7 ? fields[7] : 0, fields.Take(8).Sum());
}

static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

static double Stage(TripResult result, SuspensionStage stage) =>
    result.Record.Stages.Single(s => s.Stage == stage).Duration.TotalMilliseconds;

// An agent's WebSocket through the proxy, open and exchanging: a first message echoed, then a message every
// 5 ms, each echoed by the upstream, with a receive always pending so the end is seen as it comes; this
// returns once the first of those has been echoed too. The task returned ends when the agent sees the
// WebSocket end (a receive or a send fails, or a close arrives), with when and how many echoes it had received.
static async Task<Task<(long Ended, int Echoes)>> OpenWebSocketAsync(HttpMessageInvoker invoker)
{
    var webSocket = new ClientWebSocket();
    webSocket.Options.KeepAliveInterval = TimeSpan.Zero;
    var message = new byte[16];
    var buffer = new byte[256];
    try
    {
        await webSocket.ConnectAsync(new Uri("wss://acme.test/ws"), invoker, CancellationToken.None);
        await webSocket.SendAsync(message.AsMemory(), WebSocketMessageType.Binary, true, CancellationToken.None);
        if ((await webSocket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None)).Count != message.Length)
        {
            throw new InvalidOperationException("the upstream's WebSocket did not echo the first message through the proxy");
        }
    }
    catch
    {
        webSocket.Dispose();
        throw;
    }

    var exchanging = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
    var ended = Task.Run(async () =>
    {
        using var owned = webSocket;
        using var receiveEnded = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(5, receiveEnded.Token);
                    await webSocket.SendAsync(message.AsMemory(), WebSocketMessageType.Binary, true, receiveEnded.Token);
                }
            }
            catch (OperationCanceledException) when (receiveEnded.IsCancellationRequested)
            {
                return long.MaxValue;
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                return Stopwatch.GetTimestamp();
            }
        });

        var echoes = 1;
        try
        {
            while ((await webSocket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
                echoes++;
                exchanging.TrySetResult(true);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
        }

        var received = Stopwatch.GetTimestamp();
        exchanging.TrySetResult(false);
        await receiveEnded.CancelAsync();
        return (Math.Min(received, await sender), echoes);
    });
    if (!await exchanging.Task.WaitAsync(TimeSpan.FromSeconds(10)))
    {
        throw new InvalidOperationException("the WebSocket through the proxy ended before its second echo, before any trip");
    }

    return ended;
}

static async Task ServeAsync(HttpContext context)
{
    if (context.Request.Path.StartsWithSegments("/ws", StringComparison.Ordinal) && context.WebSockets.IsWebSocketRequest)
    {
        // Echoes every message until the connection is cut (the kill timing's WebSocket).
        using var webSocket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[256];
        try
        {
            while (true)
            {
                var received = await webSocket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                await webSocket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }

        return;
    }

    if (!context.Request.Path.StartsWithSegments("/stream", StringComparison.Ordinal))
    {
        await context.Response.WriteAsync("ok");
        return;
    }

    // Streams until the request is cut (the kill timing's in-flight downloads).
    var chunk = new byte[1024];
    try
    {
        while (true)
        {
            await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(5, context.RequestAborted);
        }
    }
    catch (Exception e) when (e is OperationCanceledException or IOException)
    {
    }
}

static double Percentile(List<double> values, int p)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }

    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

// Also this process's CPU per request over the run (the proxy under test and the upstream; wrk runs
// apart): on a shared machine the rate follows whatever else runs, the CPU each request costs much less.
static async Task<(double Rps, double P50Ms, double P99Ms, double CpuUs)> WrkAsync(int port, string duration, string connections, string? script = null)
{
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true };
    foreach (var a in new[] { "-t2", $"-c{connections}", $"-d{duration}", "--latency", "-H", "Host: acme.test", $"https://127.0.0.1:{port}/" })
    {
        start.ArgumentList.Add(a);
    }

    if (script is not null)
    {
        start.ArgumentList.Add("-s");
        start.ArgumentList.Add(script);
    }

    using var process = Process.Start(start)!;
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    var rps = double.Parse(Regex.Match(output, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
    var requests = double.Parse(Regex.Match(output, @"(\d+) requests in").Groups[1].Value, CultureInfo.InvariantCulture);
    return (rps, LatencyMs(output, "50%"), LatencyMs(output, "99%"), cpu.TotalMicroseconds / requests);
}

// h2load over TLS with ALPN h2 (refused if the target does not speak HTTP/2), to acme.test (its SNI and
// :authority) on the target's port: throughput, mean request time, this process's CPU per request as for
// wrk, and the requests not answered with a 2xx.
static async Task<(double Rps, double MeanMs, double CpuUs, long Failed)> H2loadAsync(int port, string duration, int clients, int streams)
{
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var start = new ProcessStartInfo("h2load") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "-t2", $"-c{clients}", $"-m{streams}", $"-D{duration}", "--npn-list=h2", $"--connect-to=127.0.0.1:{port}", "https://acme.test/" })
    {
        start.ArgumentList.Add(a);
    }

    using var process = Process.Start(start)!;
    var errors = process.StandardError.ReadToEndAsync();
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    var rps = Regex.Match(output, @"finished in [^,]+, ([\d.]+) req/s");
    var requests = Regex.Match(output, @"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded");
    var ok = Regex.Match(output, @"status codes: (\d+) 2xx");
    var time = Regex.Match(output, @"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s");
    if (process.ExitCode != 0 || !rps.Success || !requests.Success || !ok.Success || !time.Success || !output.Contains("Application protocol: h2", StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"h2load against port {port} gave no HTTP/2 figures (exit {process.ExitCode}):\n{output}{await errors}");
    }

    // Requests done and answered 2xx or 3xx come from the requests line: the status codes line also counts the
    // streams whose headers came before the run's end and whose bodies did not, which are not done.
    var done = long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture);
    var succeeded = long.Parse(requests.Groups[2].Value, CultureInfo.InvariantCulture);
    if (long.Parse(ok.Groups[1].Value, CultureInfo.InvariantCulture) == 0)
    {
        throw new InvalidOperationException($"h2load against port {port}: no request answered 2xx (acme.test's route not reached):\n{output}");
    }

    var mean = double.Parse(time.Groups[1].Value, CultureInfo.InvariantCulture);
    var meanMs = time.Groups[2].Value switch { "us" => mean / 1000, "s" => mean * 1000, _ => mean };
    return (double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture), meanMs, cpu.TotalMicroseconds / done, done - succeeded);
}

// The median of the values and a 95 % confidence interval for it: the order statistics j and n - 1 - j with
// j = floor(n / 2 - 1.96 sqrt(n) / 2), the normal approximation of the binomial (coverage at least 95 %
// from about 10 values up).
static (double Median, double Low, double High) MedianWithInterval(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    var n = sorted.Length;
    var median = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    var j = Math.Clamp((int)Math.Floor((n / 2.0) - (1.96 * Math.Sqrt(n) / 2)), 0, (n - 1) / 2);
    return (median, sorted[j], sorted[n - 1 - j]);
}

static (double Rps, double P50Ms, double P99Ms, double CpuUs) Median(List<(double Rps, double P50Ms, double P99Ms, double CpuUs)> runs) =>
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
