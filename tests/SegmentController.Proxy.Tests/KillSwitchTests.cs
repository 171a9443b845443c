using System.Net;
using System.Net.WebSockets;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class KillSwitchTests : IAsyncLifetime
{
    // Generous: the assertion is that they end at all, not how fast (benchmarks measure that).
    private static readonly TimeSpan CutBound = TimeSpan.FromSeconds(10);

    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static TripRequest TripAcme => new() { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test trip" };

    [Fact]
    public async Task TripUnderLoad_NothingNewReachesUpstream_OtherClientUnaffected_StreamsCut()
    {
        using var stop = new CancellationTokenSource();
        var acmeOk = 0;
        var globexOk = 0;
        var globexFailures = 0;

        async Task Load(string source, string host, Action ok, Action failed)
        {
            using var agent = _h.Agent(source);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await agent.GetAsync(new Uri($"https://{host}/load"), stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        ok();
                    }
                    else
                    {
                        failed();
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or System.Net.Sockets.SocketException)
                {
                    if (!stop.IsCancellationRequested)
                    {
                        failed();
                        await Task.Delay(5, CancellationToken.None);
                    }
                }
            }
        }

        var load = new List<Task>();
        for (var i = 0; i < 4; i++)
        {
            load.Add(Task.Run(() => Load($"127.0.1.{20 + i}", "acme.test", () => Interlocked.Increment(ref acmeOk), () => { })));
        }

        for (var i = 0; i < 2; i++)
        {
            load.Add(Task.Run(() => Load($"127.0.2.{20 + i}", "globex.test", () => Interlocked.Increment(ref globexOk), () => Interlocked.Increment(ref globexFailures))));
        }

        // A WebSocket and a long download in flight for acme.
        using var wsInvoker = new HttpMessageInvoker(_h.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri("wss://acme.test/ws"), wsInvoker, CancellationToken.None);
        await ws.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var echo = new byte[16];
        Assert.Equal(4, (await ws.ReceiveAsync(echo, CancellationToken.None)).Count);

        using var downloader = _h.Agent(ProxyHarness.AcmeAgent);
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
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
            }
        });
        var wsEnded = Task.Run(async () =>
        {
            try
            {
                while ((await ws.ReceiveAsync(echo, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
                {
                }
            }
            catch (WebSocketException)
            {
            }
        });

        while (Volatile.Read(ref acmeOk) < 200 || Volatile.Read(ref globexOk) < 100)
        {
            await Task.Delay(20);
        }

        var trip = await _h.Engine.TripAsync(TripAcme, CancellationToken.None);
        var atAck = _h.Acme.Hits.Count;
        var globexAtAck = Volatile.Read(ref globexOk);

        Assert.True(trip.Created);
        Assert.Same(downloadEnded, await Task.WhenAny(downloadEnded, Task.Delay(CutBound)));
        Assert.Same(wsEnded, await Task.WhenAny(wsEnded, Task.Delay(CutBound)));

        // Requests already handed to the upstream before the acknowledgement may still land; after
        // that settles nothing more arrives while the load keeps trying.
        await Task.Delay(300);
        var settled = _h.Acme.Hits.Count;
        var settledBytes = _h.Acme.BodyBytes;
        await Task.Delay(1000);
        var final = _h.Acme.Hits.Count;
        var globexFinal = Volatile.Read(ref globexOk);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.Equal(settled, final);
        Assert.Equal(settledBytes, _h.Acme.BodyBytes);
        Assert.InRange(settled - atAck, 0, 6);
        Assert.True(globexFinal > globexAtAck + 10, $"globex continued: {globexAtAck} → {globexFinal}");
        Assert.Equal(0, globexFailures);
        Assert.All(trip.Record.Stages, s => Assert.True(s.Succeeded, $"{s.Stage}: {s.Detail}"));
    }

    [Fact]
    public async Task Suspended_NewConnectionRefusedBeforeTls()
    {
        await _h.Engine.TripAsync(TripAcme, CancellationToken.None);
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        await Assert.ThrowsAsync<HttpRequestException>(() => agent.GetAsync(new Uri("https://acme.test/")));

        Assert.Empty(_h.Acme.Hits);
        using var other = _h.Agent(ProxyHarness.GlobexAgent);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(new Uri("https://globex.test/"))).StatusCode);
    }

    [Fact]
    public async Task SiteWideSwitch_EveryClientCut()
    {
        await _h.Engine.TripAsync(new TripRequest { Scope = SuspensionNames.AllClients, Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "site incident" }, CancellationToken.None);
        using var acme = _h.Agent(ProxyHarness.AcmeAgent);
        using var globex = _h.Agent(ProxyHarness.GlobexAgent);

        await Assert.ThrowsAsync<HttpRequestException>(() => acme.GetAsync(new Uri("https://acme.test/")));
        await Assert.ThrowsAsync<HttpRequestException>(() => globex.GetAsync(new Uri("https://globex.test/")));
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
    }

    [Fact]
    public async Task Restore_NeedsTwoDistinctApprovers_ThenForwardsAgain()
    {
        await _h.Engine.TripAsync(TripAcme, CancellationToken.None);

        var requested = await _h.Engine.RequestRestoreAsync("acme", "alice", "contained", CancellationToken.None);
        var twice = await _h.Engine.ApproveRestoreAsync("acme", "alice", CancellationToken.None);
        using (var blocked = _h.Agent(ProxyHarness.AcmeAgent))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => blocked.GetAsync(new Uri("https://acme.test/")));
        }

        var approved = await _h.Engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);

        Assert.Equal(RestoreStatus.PendingApproval, requested.Status);
        Assert.Equal(RestoreStatus.Refused, twice.Status);
        Assert.Equal(RestoreStatus.Restored, approved.Status);
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);
    }
}
