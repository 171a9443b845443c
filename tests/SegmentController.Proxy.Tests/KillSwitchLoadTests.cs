using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Storage.Sqlite;
using Xunit.Abstractions;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// A trip under load from a real load generator: wrk, one process for acme's agents and one for globex's,
/// each in a network namespace of its own (wrk cannot choose its source address; the namespace's veth
/// address is the agent's, in the client's segment), reaching the proxy on a listener at the root end of
/// that veth.
/// </summary>
public sealed class KillSwitchLoadTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Only a guard against a hung test: what is asserted is how things ended, never how fast.
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    // Requests of the load generator's that acme's upstream must have logged before the trip (the load was
    // real), and that globex's must have received and answered before the trip and after the acknowledgement
    // (globex is still served).
    private const int AcmeRequestsBeforeTrip = 5000;
    private const int GlobexRequestsBeforeTrip = 1000;
    private const int GlobexRequestsAfterTrip = 100;

    private AgentNamespace? _acmeAgents;
    private AgentNamespace? _globexAgents;
    private WireTimestamps? _wire;
    private ProxyHarness? _h;

    private ProxyHarness H => _h ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        try
        {
            _acmeAgents = await AgentNamespace.CreateAsync();
            _globexAgents = await AgentNamespace.CreateAsync();
            _h = await ProxyHarness.StartAsync(
                acmeDestination: upstream =>
                {
                    // Acme's upstream behind a relay that timestamps, in the kernel, every byte the proxy sends it.
                    _wire = WireTimestamps.Start(upstream.Port);
                    return Task.FromResult(new Uri($"https://127.0.0.1:{_wire.Port}/"));
                },
                adjustPolicy: policy => policy with
                {
                    // Loopback first (the harness's agents), then one listener for each namespace's agents.
                    Controller = policy.Controller with
                    {
                        Proxy = policy.Controller.Proxy with
                        {
                            Listen = [.. policy.Controller.Proxy.Listen, $"{_acmeAgents.HostAddress}:0", $"{_globexAgents.HostAddress}:0"],
                        },
                    },
                    Clients = [.. policy.Clients.Select(c => c with
                    {
                        Segments = [.. c.Segments, new Segment { Name = "load", Subnets = [(c.Id == "acme" ? _acmeAgents : _globexAgents).AgentNetwork] }],
                    })],
                });
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_h is not null)
        {
            await _h.DisposeAsync();
            _h = null;
        }

        if (_wire is not null)
        {
            await _wire.DisposeAsync();
            _wire = null;
        }

        foreach (var agents in new[] { _acmeAgents, _globexAgents })
        {
            if (agents is not null)
            {
                await agents.DisposeAsync();
            }
        }

        _acmeAgents = _globexAgents = null;
    }

    [Fact]
    public async Task TripUnderLoad_NothingReachesUpstreamAfterAck_OtherClientUnaffected_StreamsCut()
    {
        var acmeSource = _acmeAgents!.AgentAddress.ToString();
        var globexSource = _globexAgents!.AgentAddress.ToString();

        // The load generator's requests as each upstream logged them (the proxy names the agent in X-Forwarded-For):
        // acme's that reached it, globex's it answered (after a moment: received and answered after it).
        int AcmeLoad() => H.Acme.Hits.Count(h => h.ForwardedFor == acmeSource);
        int GlobexLoadAfter(DateTimeOffset? moment) => H.Globex.Hits.Count(h => h.ForwardedFor == globexSource && h.Answered is { } answered && (moment is null || (h.At > moment && answered > moment)));

        await using var acmeLoad = WrkLoad.Start(_acmeAgents, ListenerFor(_acmeAgents), "acme.test", connections: 8, bodyBytes: 4096);
        await using var globexLoad = WrkLoad.Start(_globexAgents, ListenerFor(_globexAgents), "globex.test", connections: 4);

        // A WebSocket (sending all the while) and a long download in flight for acme.
        using var wsInvoker = new HttpMessageInvoker(H.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri("wss://acme.test/ws"), wsInvoker, CancellationToken.None);
        await ws.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var echo = new byte[16];
        Assert.Equal(4, (await ws.ReceiveAsync(echo, CancellationToken.None)).Count);

        using var downloader = H.Agent(ProxyHarness.AcmeAgent);
        using var download = await downloader.GetAsync(new Uri("https://acme.test/stream"), HttpCompletionOption.ResponseHeadersRead);
        var downloadStream = await download.Content.ReadAsStreamAsync();
        var downloadEnded = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                while (await downloadStream.ReadAsync(buffer) > 0)
                {
                }

                return ("completed", Stopwatch.GetTimestamp());
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                return ("aborted", Stopwatch.GetTimestamp());
            }
        });
        var wsEnded = EndOf(ws);
        var wsSending = KeepSending(ws, wsEnded);

        // Thousands of requests take a busy shared machine far longer than an idle one: the wait is only a guard.
        var warmUp = Stopwatch.StartNew();
        await Eventually.UntilAsync(
            () => acmeLoad.HasExited || globexLoad.HasExited || (AcmeLoad() >= AcmeRequestsBeforeTrip && GlobexLoadAfter(null) >= GlobexRequestsBeforeTrip),
            () => $"the load did not warm up: acme's upstream logged {AcmeLoad()} of {AcmeRequestsBeforeTrip} requests from {acmeSource}, globex's answered {GlobexLoadAfter(null)} of {GlobexRequestsBeforeTrip} from {globexSource}",
            within: HangGuard);
        Assert.False(acmeLoad.HasExited, await OutputIfExited(acmeLoad));
        Assert.False(globexLoad.HasExited, await OutputIfExited(globexLoad));

        var acmeBeforeTrip = AcmeLoad();
        var acmeBeforeTripElapsed = warmUp.Elapsed;
        Assert.True(H.Acme.BodyBytes > 0);
        var trip = await H.Engine.TripAsync(TripAcme, CancellationToken.None);
        var acknowledgedAt = Stopwatch.GetTimestamp();
        var acknowledged = DateTimeOffset.UtcNow;

        Assert.True(trip.Created);
        var (downloadEnd, downloadCut) = await EndedWithinGuard(downloadEnded);
        var (wsEnd, wsCut) = await EndedWithinGuard(wsEnded);
        Assert.Equal("aborted", downloadEnd);
        Assert.Equal("aborted", wsEnd);
        await wsSending.WaitAsync(HangGuard);

        // Once what was already on the upstream's side of the wire at the acknowledgement has been
        // handled, nothing more arrives while the load keeps trying.
        await Eventually.UntilAsync(
            () => H.Acme.InProgress == 0 && _wire!.OpenConnections == 0,
            () => $"acme's upstream did not settle after the trip: {H.Acme.InProgress} requests in progress, {_wire!.OpenConnections} connections open");

        // A second at least, and as long as globex's load takes on a busy machine to show it is still served.
        var settled = H.Acme.Hits.Count;
        var settledBytes = H.Acme.BodyBytes;
        var watched = Stopwatch.StartNew();
        while (watched.Elapsed < TimeSpan.FromSeconds(1) || (GlobexLoadAfter(acknowledged) < GlobexRequestsAfterTrip && watched.Elapsed < TimeSpan.FromSeconds(60)))
        {
            await Task.Delay(20);
        }

        var acmeReport = await acmeLoad.StopAsync(HangGuard);
        var globexReport = await globexLoad.StopAsync(HangGuard);
        var globexAfterTrip = GlobexLoadAfter(acknowledged);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"acme's upstream logged {acmeBeforeTrip} requests from wrk before the trip, in {acmeBeforeTripElapsed.TotalSeconds:0.0} s ({acmeBeforeTrip / acmeBeforeTripElapsed.TotalSeconds:0} requests/s)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrk for acme ({acmeSource}): {acmeReport.Requests} requests answered in {acmeReport.Duration.TotalSeconds:0.0} s, {acmeReport.RequestsPerSecond:0} requests/s over its run; after the trip {acmeReport.ConnectErrors} connect, {acmeReport.ReadErrors} read, {acmeReport.WriteErrors} write errors, {acmeReport.Timeouts} timeouts"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrk for globex ({globexSource}): {globexReport.Requests} requests answered in {globexReport.Duration.TotalSeconds:0.0} s, {globexReport.RequestsPerSecond:0} requests/s over its run; {globexAfterTrip} received and answered by globex's upstream after the acknowledgement"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the download was cut {Stopwatch.GetElapsedTime(acknowledgedAt, downloadCut).TotalMilliseconds:0.0} ms after the acknowledgement, the WebSocket {Stopwatch.GetElapsedTime(acknowledgedAt, wsCut).TotalMilliseconds:0.0} ms after it (negative: before the trip returned)"));
        output.WriteLine(acmeReport.Output);
        output.WriteLine(globexReport.Output);

        // The load was real: thousands of acme's requests reached its upstream before the trip.
        Assert.True(acmeBeforeTrip >= AcmeRequestsBeforeTrip, $"{acmeBeforeTrip} requests from wrk reached acme's upstream before the trip");

        // The upstream's own log: not one request and not one body byte of acme's after it settled.
        Assert.Equal(settled, H.Acme.Hits.Count);
        Assert.Equal(settledBytes, H.Acme.BodyBytes);

        // The kernel's own clock on the upstream's side: not one byte from the proxy after the acknowledgement,
        // the WebSocket's (it kept sending until it was cut) and the download's connections among them.
        var wire = _wire!.FromProxy.ToArray();
        Assert.NotEmpty(wire);
        Assert.All(wire, w => Assert.NotNull(w.Kernel));
        var late = wire.Where(w => w.Kernel > acknowledged).ToArray();
        Assert.True(late.Length == 0, $"{late.Sum(l => l.Bytes)} bytes reached acme's upstream after the acknowledgement ({acknowledged:O}), first at {late.FirstOrDefault().Kernel:O}");

        // The load kept connecting after the trip: the gate dropped acme's new connections before TLS, and not one of globex's.
        Assert.True(H.Metrics.Refused.GetValueOrDefault("acme") > 0, $"no connection of acme's refused at the gate after the trip (wrk: {acmeReport.ConnectErrors} connect errors)");
        Assert.False(H.Metrics.Refused.ContainsKey("globex"), $"{H.Metrics.Refused.GetValueOrDefault("globex")} connections of globex's refused at the gate");

        // Globex: its upstream received and answered its load's requests after the acknowledgement, and wrk had every one answered.
        Assert.True(globexAfterTrip >= GlobexRequestsAfterTrip, $"globex's upstream received and answered {globexAfterTrip} requests from {globexSource} after the acknowledgement");
        Assert.True(globexReport.Failures == 0, $"globex's load failed: {globexReport.Output}");
        Assert.All(trip.Record.Stages, s => Assert.True(s.Succeeded, $"{s.Stage}: {s.Detail}"));

        // The cut WebSocket is one record, aborted, with the bytes of its echo each way.
        var wsRecord = Assert.Single(await WebSocketRecordsAsync());
        Assert.Equal(ProxyOutcomes.Aborted, wsRecord.GetProperty("outcome").GetString());
        Assert.True(wsRecord.GetProperty("bytes_in").GetInt64() >= 4, wsRecord.ToString());
        Assert.True(wsRecord.GetProperty("bytes_out").GetInt64() >= 4, wsRecord.ToString());
    }

    private static TripRequest TripAcme => new() { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test trip" };

    /// <summary>The proxy's listener at the root end of the namespace's link, for the load's requests.</summary>
    private Uri ListenerFor(AgentNamespace agents) =>
        new(H.ProxyAddresses.Single(a => a.Host == agents.HostAddress.ToString()), "/load");

    /// <summary>How a stream in flight ended and when, or "still open" if it had not within the guard.</summary>
    private static async Task<(string End, long At)> EndedWithinGuard(Task<(string End, long At)> ended)
    {
        try
        {
            return await ended.WaitAsync(HangGuard);
        }
        catch (TimeoutException)
        {
            return ("still open", Stopwatch.GetTimestamp());
        }
    }

    private static async Task<string> OutputIfExited(WrkLoad load) => load.HasExited ? await load.OutputAfterExitAsync() : "";

    /// <summary>
    /// The access records of /ws once one is in the store (a minute at most): thousands of the load's records come
    /// with it, and the gate's records of the load's refused connections (no request's, no path), stored each
    /// time the gate's refusal window closes.
    /// </summary>
    private async Task<System.Text.Json.JsonElement[]> WebSocketRecordsAsync()
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var records = StoreFile.Read(H.StorePath, new RecordQuery { Type = RecordTypes.Access })
                .SelectMany(ProxyHarness.Entries)
                .Where(r => ProxyHarness.IsRequest(r) && r.GetProperty("path").GetString() == "/ws")
                .ToArray();
            if (records.Length > 0 || waited.Elapsed > TimeSpan.FromMinutes(1))
            {
                return records;
            }

            await Task.Delay(50);
        }
    }

    // What a test needs before it goes on, given a minute (or as long as given); a failure says what did
    // not happen, where an open-ended wait would hang until the run's own guard ended it.
    /// <summary>A message every 10 ms on the WebSocket until it has ended.</summary>
    private static Task KeepSending(ClientWebSocket ws, Task ended) => Task.Run(async () =>
    {
        try
        {
            while (!ended.IsCompleted)
            {
                await ws.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                await Task.Delay(10);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Cut while sending.
        }
    });

    /// <summary>How a WebSocket in flight ends ("closed" by a close frame, "aborted" when cut), and when that was seen.</summary>
    private static Task<(string End, long At)> EndOf(ClientWebSocket ws) => Task.Run(async () =>
    {
        var buffer = new byte[16];
        try
        {
            while ((await ws.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }

            return ("closed", Stopwatch.GetTimestamp());
        }
        catch (WebSocketException)
        {
            return ("aborted", Stopwatch.GetTimestamp());
        }
    });
}
