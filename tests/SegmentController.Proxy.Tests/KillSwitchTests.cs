using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Proxy.Tests;

public sealed class KillSwitchTests : IAsyncLifetime
{
    // Only a guard against a hung test: what is asserted is how things ended, never how fast.
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private WireTimestamps? _wire;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync(acmeDestination: upstream =>
    {
        // Acme's upstream behind a relay that timestamps, in the kernel, every byte the proxy sends it.
        _wire = WireTimestamps.Start(upstream.Port);
        return Task.FromResult(new Uri($"https://127.0.0.1:{_wire.Port}/"));
    });

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        if (_wire is not null)
        {
            await _wire.DisposeAsync();
        }
    }

    private static TripRequest TripAcme => new() { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test trip" };

    [Fact]
    public async Task TripOnASharedHttp2Connection_EveryStreamCut_NothingReachesUpstreamAfterAck()
    {
        // One HTTP/2 connection of one agent carries four downloads and a WebSocket (extended CONNECT).
        var connections = 0;
        using var handler = _h.AgentHandler(ProxyHarness.AcmeAgent);
        var connect = handler.ConnectCallback!;
        handler.ConnectCallback = (context, token) =>
        {
            Interlocked.Increment(ref connections);
            return connect(context, token);
        };
        using var agent = new HttpClient(handler, disposeHandler: false)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var downloads = new List<Task<string>>();
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            var response = await agent.GetAsync(new Uri($"https://acme.test/stream/{i}"), HttpCompletionOption.ResponseHeadersRead);
            responses.Add(response);
            Assert.Equal(HttpVersion.Version20, response.Version);
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            Assert.True(await stream.ReadAsync(buffer) > 0);
            downloads.Add(Task.Run(async () =>
            {
                try
                {
                    while (await stream.ReadAsync(buffer) > 0)
                    {
                    }

                    return "completed";
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    return "aborted";
                }
            }));
        }

        using var wsInvoker = new HttpMessageInvoker(handler, disposeHandler: false);
        using var ws = new ClientWebSocket();
        ws.Options.HttpVersion = HttpVersion.Version20;
        ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        await ws.ConnectAsync(new Uri("wss://acme.test/ws"), wsInvoker, CancellationToken.None);
        await ws.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var echo = new byte[16];
        Assert.Equal(4, (await ws.ReceiveAsync(echo, CancellationToken.None)).Count);
        var wsEnded = EndOf(ws);
        Assert.Equal(1, Volatile.Read(ref connections));

        var trip = await _h.Engine.TripAsync(TripAcme, CancellationToken.None);
        var acknowledged = DateTimeOffset.UtcNow;

        Assert.True(trip.Created);
        Assert.All(trip.Record.Stages, s => Assert.True(s.Succeeded, $"{s.Stage}: {s.Detail}"));
        Assert.Equal(["aborted", "aborted", "aborted", "aborted"], await Task.WhenAll(downloads).WaitAsync(HangGuard));
        Assert.Equal("aborted", await wsEnded.WaitAsync(HangGuard));

        using (var guard = new CancellationTokenSource(HangGuard))
        {
            while (_h.Acme.InProgress > 0 || _wire!.OpenConnections > 0)
            {
                await Task.Delay(20, guard.Token);
            }
        }

        // The agent keeps trying (a new connection, the old one gone): dropped, and the upstream hears nothing more.
        var settled = _h.Acme.Hits.Count;
        await ProxyHarness.AssertDroppedAsync(() => agent.GetAsync(new Uri("https://acme.test/after")));
        await Task.Delay(300);
        Assert.Equal(settled, _h.Acme.Hits.Count);

        var wire = _wire!.FromProxy.ToArray();
        Assert.NotEmpty(wire);
        Assert.All(wire, w => Assert.NotNull(w.Kernel));
        var late = wire.Where(w => w.Kernel > acknowledged).ToArray();
        Assert.True(late.Length == 0, $"{late.Sum(l => l.Bytes)} bytes reached acme's upstream after the acknowledgement ({acknowledged:O}), first at {late.FirstOrDefault().Kernel:O}");

        // Each stream is its own request, cut: four downloads and the WebSocket, every one recorded aborted.
        var records = await _h.AccessRecordsAsync(5);
        var cut = records.Where(r => r.GetProperty("path").GetString() is { } path && (path.StartsWith("/stream/", StringComparison.Ordinal) || path == "/ws")).ToArray();
        Assert.Equal(5, cut.Length);
        Assert.All(cut, r => Assert.Equal(ProxyOutcomes.Aborted, r.GetProperty("outcome").GetString()));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task TripCutsUploadInFlight_RecordedAbortedWithoutStatus()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using var content = new EndlessContent();
        var upload = agent.PostAsync(new Uri("https://acme.test/upload"), content);
        await Eventually.UntilAsync(
            () => _h.Acme.Hits.Any(h => h.Path == "/upload" && h.BodyBytes > 0),
            () => $"no upload body reached acme's upstream (upload {upload.Status})");

        await _h.Engine.TripAsync(TripAcme, CancellationToken.None);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => upload.WaitAsync(HangGuard));
        var record = (await _h.AccessRecordsAsync(1)).Single(r => r.GetProperty("path").GetString() == "/upload");
        Assert.Equal("aborted", record.GetProperty("outcome").GetString());
        Assert.False(record.TryGetProperty("status", out _), record.ToString());
        Assert.True(record.GetProperty("bytes_in").GetInt64() > 0);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.Aborted));
    }

    [Fact]
    public async Task TripAfterAPolicyReload_UploadStartedBeforeTheReload_NothingReachesUpstreamAfterAck()
    {
        // An upload streaming as fast as it can, started under the policy in force before a reload.
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using var content = new EndlessContent(pause: TimeSpan.Zero, chunkBytes: 64 * 1024);
        var upload = agent.PostAsync(new Uri("https://acme.test/upload"), content);
        await Eventually.UntilAsync(
            () => _h.Acme.Hits.Any(h => h.Path == "/upload" && h.BodyBytes > 1024 * 1024),
            () => $"the upload did not warm up: {_h.Acme.Hits.Where(h => h.Path == "/upload").Sum(h => h.BodyBytes)} of 1 MiB reached acme's upstream (upload {upload.Status})");

        // Any reload puts new clusters in force (here globex gains a host): the upload's requests keep
        // running on the connection pool of the configuration they started under.
        var policy = _h.Policy.Current;
        _h.Policy.Set(policy with
        {
            Clients = policy.Clients.Select(c => c.Id == "globex"
                ? c with { Upstreams = [.. c.Upstreams.Select(u => u with { Hosts = [.. u.Hosts, "legacy.test"] })] }
                : c).ToArray(),
        });
        using var globex = _h.Agent(ProxyHarness.GlobexAgent);
        var status = HttpStatusCode.NotFound;
        var reloaded = Stopwatch.StartNew();
        while (status != HttpStatusCode.OK && reloaded.Elapsed < TimeSpan.FromSeconds(60))
        {
            status = (await globex.GetAsync(new Uri("https://legacy.test/"))).StatusCode;
            await Task.Delay(status == HttpStatusCode.OK ? 0 : 25);
        }

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(upload.IsCompleted);

        var trip = await _h.Engine.TripAsync(TripAcme, CancellationToken.None);
        var acknowledged = DateTimeOffset.UtcNow;

        Assert.True(trip.Created);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => upload.WaitAsync(HangGuard));
        using (var guard = new CancellationTokenSource(HangGuard))
        {
            while (_wire!.OpenConnections > 0)
            {
                await Task.Delay(20, guard.Token);
            }
        }

        // The upstream-pool stage reset the upload's socket, pool or no pool: not one byte after the acknowledgement.
        var late = _wire!.FromProxy.Where(w => w.Kernel > acknowledged).ToArray();
        Assert.True(late.Length == 0, $"{late.Sum(l => l.Bytes)} bytes reached acme's upstream after the acknowledgement ({acknowledged:O}), first at {late.FirstOrDefault().Kernel:O}");
    }

    [Fact]
    public async Task Suspended_RealClientHelloOnARawSocket_NotOneByteBeforeTheClose()
    {
        var hello = await TlsClientHello.CaptureAsync("acme.test");

        // The same bytes from a client that is not suspended get the proxy's ServerHello: they start a handshake.
        var answered = await ReplyToClientHelloAsync(ProxyHarness.GlobexAgent, hello, stopAtFirstRecord: true);
        Assert.True(answered.Length >= 6 && answered[0] == 0x16 && answered[5] == 0x02, $"globex's agent got no ServerHello for the ClientHello: {Describe(answered)}");

        await _h.Engine.TripAsync(TripAcme, CancellationToken.None);
        var refused = await ReplyToClientHelloAsync(ProxyHarness.AcmeAgent, hello, stopAtFirstRecord: false);

        // Gate before TLS: the suspended agent's connection ends (closed or reset) with nothing sent, no ServerHello, no alert.
        Assert.True(refused.Length == 0, $"the proxy sent the suspended agent {Describe(refused)} before closing");
        Assert.True(_h.Metrics.Refused.GetValueOrDefault("acme") >= 1, "the gate counted no refused connection of acme's");
    }

    /// <summary>
    /// Sends <paramref name="hello"/> from <paramref name="source"/> on a plain TCP socket and returns every byte the
    /// proxy sent back until it closed or reset the connection (or, with <paramref name="stopAtFirstRecord"/>,
    /// until a whole TLS record came).
    /// </summary>
    private async Task<byte[]> ReplyToClientHelloAsync(string source, byte[] hello, bool stopAtFirstRecord)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        using var guard = new CancellationTokenSource(HangGuard);
        var received = new MemoryStream();
        try
        {
            // The gate may reset the connection before its connect is seen to complete: nothing was sent then either.
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _h.ProxyPort), guard.Token);
            await socket.SendAsync(hello, System.Net.Sockets.SocketFlags.None, guard.Token);
            var buffer = new byte[16384];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, guard.Token);
                if (read == 0)
                {
                    break;
                }

                received.Write(buffer, 0, read);
                var bytes = received.GetBuffer();
                if (stopAtFirstRecord && received.Length >= 5 && received.Length >= 5 + ((bytes[3] << 8) | bytes[4]))
                {
                    break;
                }
            }
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted or System.Net.Sockets.SocketError.Shutdown)
        {
            // Reset by the proxy: what came before the reset is what it sent.
        }

        return received.ToArray();
    }

    private static string Describe(byte[] reply) =>
        reply.Length == 0 ? "nothing" : $"{reply.Length} bytes ({Convert.ToHexString(reply.AsSpan(0, Math.Min(reply.Length, 16)))}…)";

    [Fact]
    public async Task Suspended_NewConnectionRefusedBeforeTls_CountedAndRecordedOncePerWindow()
    {
        await _h.Engine.TripAsync(TripAcme, CancellationToken.None);
        var refusing = Stopwatch.StartNew();
        for (var i = 0; i < 3; i++)
        {
            using var agent = _h.Agent(ProxyHarness.AcmeAgent);
            await ProxyHarness.AssertDroppedAsync(() => agent.GetAsync(new Uri("https://acme.test/")));
        }

        var refusedOver = refusing.Elapsed;

        Assert.Empty(_h.Acme.Hits);
        using var other = _h.Agent(ProxyHarness.GlobexAgent);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(new Uri("https://globex.test/"))).StatusCode);
        Assert.True(_h.Metrics.Refused.GetValueOrDefault("acme") >= 3);

        await _h.StopAsync();
        var refusals = StoreFile.Read(_h.StorePath, new RecordQuery { Type = RecordTypes.Access, Client = "acme" })
            .SelectMany(ProxyHarness.Entries)
            .Where(r => r.GetProperty("outcome").GetString() == ProxyOutcomes.RefusedAtGate)
            .ToArray();
        // One record a window, not one a connection: the three refusals fall in one window, or in two when a window
        // (a real-time timer since the proxy started) closed among them; more only if they took longer than a window.
        var windows = Math.Min(3, (int)(refusedOver / SegmentController.Proxy.Gate.GateRefusals.Interval) + 2);
        Assert.InRange(refusals.Length, 1, windows);
        Assert.True(refusals.Sum(r => r.GetProperty("connections").GetInt64()) >= 3, string.Join(", ", refusals));
        Assert.All(refusals, record =>
        {
            Assert.Equal(ProxyHarness.AcmeAgent, record.GetProperty("sources")[0].GetProperty("source").GetString());
            Assert.False(record.TryGetProperty("status", out _));
        });
    }

    [Fact]
    public async Task SiteWideSwitch_EveryClientAndEveryStrangerDroppedAtTheGate()
    {
        using var stranger = _h.Agent(ProxyHarness.UnknownAgent);
        Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync(new Uri("https://acme.test/"))).StatusCode);
        Assert.Single(_h.Findings.Findings);

        await _h.Engine.TripAsync(new TripRequest { Scope = SuspensionNames.AllClients, Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "site incident" }, CancellationToken.None);
        using var acme = _h.Agent(ProxyHarness.AcmeAgent);
        using var globex = _h.Agent(ProxyHarness.GlobexAgent);
        using var strangerAgain = _h.Agent(ProxyHarness.UnknownAgent);

        await ProxyHarness.AssertDroppedAsync(() => acme.GetAsync(new Uri("https://acme.test/")));
        await ProxyHarness.AssertDroppedAsync(() => globex.GetAsync(new Uri("https://globex.test/")));

        // Not even a 403: the stranger's connection (the one open before the trip, and a new one) is dropped.
        await ProxyHarness.AssertDroppedAsync(() => stranger.GetAsync(new Uri("https://acme.test/")));
        await ProxyHarness.AssertDroppedAsync(() => strangerAgain.GetAsync(new Uri("https://acme.test/")));
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
        Assert.Single(_h.Findings.Findings);
        Assert.True(_h.Metrics.Refused.GetValueOrDefault(ProxyOutcomes.UnknownClient) >= 1);
    }

    [Fact]
    public async Task Restore_NeedsTwoDistinctApprovers_ThenForwardsAgain()
    {
        await _h.Engine.TripAsync(TripAcme, CancellationToken.None);

        var requested = await _h.Engine.RequestRestoreAsync("acme", "alice", "contained", CancellationToken.None);
        var twice = await _h.Engine.ApproveRestoreAsync("acme", "alice", CancellationToken.None);
        using (var blocked = _h.Agent(ProxyHarness.AcmeAgent))
        {
            await ProxyHarness.AssertDroppedAsync(() => blocked.GetAsync(new Uri("https://acme.test/")));
        }

        var approved = await _h.Engine.ApproveRestoreAsync("acme", "bob", CancellationToken.None);

        Assert.Equal(RestoreStatus.PendingApproval, requested.Status);
        Assert.Equal(RestoreStatus.Refused, twice.Status);
        Assert.Equal(RestoreStatus.Restored, approved.Status);
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);
    }

    // What a test needs before it goes on, given a minute; a failure says what did not happen, where an
    // open-ended wait would hang until the run's own guard ended it.
    /// <summary>A request body that keeps coming, a kilobyte at a time, until the request is cut.</summary>
    private sealed class EndlessContent(TimeSpan? pause = null, int chunkBytes = 1024) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var chunk = new byte[chunkBytes];
            var wait = pause ?? TimeSpan.FromMilliseconds(10);
            while (true)
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>How a WebSocket in flight ends: "closed" by a close frame, "aborted" when cut.</summary>
    private static Task<string> EndOf(ClientWebSocket ws) => Task.Run(async () =>
    {
        var buffer = new byte[16];
        try
        {
            while ((await ws.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }

            return "closed";
        }
        catch (WebSocketException)
        {
            return "aborted";
        }
    });
}
