using System.Net;
using System.Net.WebSockets;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// A reload that moves an agent's address, or an upstream, from one client to another: what was admitted
/// under the old policy must not go on as the wrong client's under the new one.
/// </summary>
public sealed class ReloadReattributionTests : IAsyncLifetime
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(1);

    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static async Task<ClientWebSocket> OpenAcmeWebSocketAsync(HttpMessageInvoker invoker)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri("wss://acme.test/ws"), invoker, CancellationToken.None);
        await ws.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var echo = new byte[16];
        Assert.Equal(4, (await ws.ReceiveAsync(echo, CancellationToken.None)).Count);
        return ws;
    }

    /// <summary>Sends a message and says whether its echo came back ("echoed") or the socket was cut ("cut").</summary>
    private static async Task<string> EchoAsync(ClientWebSocket ws)
    {
        try
        {
            // A cut socket ends at once; a live one's echo may take a busy machine a while.
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await ws.SendAsync("after"u8.ToArray(), WebSocketMessageType.Text, true, guard.Token);
            var echo = new byte[16];
            var received = await ws.ReceiveAsync(echo, guard.Token);
            return received.MessageType == WebSocketMessageType.Close ? "cut" : "echoed";
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            return "cut";
        }
    }

    private void MoveAcmeAgentsToGlobex()
    {
        // 127.0.1.0/24 (acme's agents) becomes globex's; acme gets a new segment.
        var policy = _h.Policy.Current;
        _h.Policy.Set(policy with
        {
            Clients = policy.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Segments = [c.Segments[0] with { Subnets = [IPNetwork.Parse("127.0.3.0/24")] }] },
                "globex" => c with { Segments = [c.Segments[0] with { Subnets = [.. c.Segments[0].Subnets, IPNetwork.Parse("127.0.1.0/24")] }] },
                _ => c,
            }).ToArray(),
        });
    }

    [Fact]
    public async Task AddressMovedToAnotherClient_WebSocketOpenedBeforeTheReload_IsCut()
    {
        using var invoker = new HttpMessageInvoker(_h.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = await OpenAcmeWebSocketAsync(invoker);

        MoveAcmeAgentsToGlobex();

        // The agent is globex's now: a WebSocket to acme's upstream would be a cross-client flow.
        Assert.Equal("cut", await EchoAsync(ws).WaitAsync(HangGuard));
        await AssertWebSocketRecordedAbortedAsync();

        // Its new connections are globex's.
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://globex.test/moved"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync(new Uri("https://acme.test/moved"))).StatusCode);
        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path == "/moved");
    }

    [Fact]
    public async Task UnrelatedReload_WebSocketGoesOn()
    {
        using var invoker = new HttpMessageInvoker(_h.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = await OpenAcmeWebSocketAsync(invoker);

        // globex gains a host and a segment; nothing of acme's changes.
        var policy = _h.Policy.Current;
        _h.Policy.Set(policy with
        {
            Clients = policy.Clients.Select(c => c.Id == "globex"
                ? c with
                {
                    Segments = [c.Segments[0] with { Subnets = [.. c.Segments[0].Subnets, IPNetwork.Parse("127.0.4.0/24")] }],
                    Upstreams = [.. c.Upstreams.Select(u => u with { Hosts = [.. u.Hosts, "legacy.test"] })],
                }
                : c).ToArray(),
        });

        Assert.Equal("echoed", await EchoAsync(ws).WaitAsync(HangGuard));
    }

    private async Task AssertWebSocketRecordedAbortedAsync()
    {
        // Recorded as acme's, as it was admitted, and as cut.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        System.Text.Json.JsonElement record;
        while (true)
        {
            var records = await _h.AccessRecordsAsync(1);
            if (records.Any(r => r.GetProperty("path").GetString() == "/ws"))
            {
                record = records.Single(r => r.GetProperty("path").GetString() == "/ws");
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "no access record of the WebSocket");
            await Task.Delay(50);
        }

        Assert.Equal("acme", record.GetProperty("client").GetString());
        Assert.Equal(ProxyOutcomes.Aborted, record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task AddressMovedToAnotherClient_ThatClientTripped_KeepAliveConnectionClosed()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/before"))).StatusCode);
        using var invoker = new HttpMessageInvoker(_h.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = await OpenAcmeWebSocketAsync(invoker);

        MoveAcmeAgentsToGlobex();
        await _h.Engine.TripAsync(new TripRequest { Scope = "globex", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test" }, CancellationToken.None);

        // globex is cut off: its agents, the moved ones included, have nothing open through the proxy.
        Assert.Equal("cut", await EchoAsync(ws).WaitAsync(HangGuard));
        await ProxyHarness.AssertDroppedAsync(() => agent.GetAsync(new Uri("https://globex.test/after")));
        Assert.DoesNotContain(_h.Globex.Hits, h => h.Path == "/after");
    }

    [Fact]
    public async Task UpstreamMovedToAnotherClient_WebSocketOpenedBeforeTheReload_IsCut()
    {
        using var invoker = new HttpMessageInvoker(_h.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = await OpenAcmeWebSocketAsync(invoker);

        // acme's upstream (host and server) is globex's now; acme keeps another.
        var policy = _h.Policy.Current;
        var moved = policy.Clients.Single(c => c.Id == "acme").Upstreams[0];
        _h.Policy.Set(policy with
        {
            Clients = policy.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Upstreams = [new Upstream { Name = "crm", Hosts = ["legacy.test"], Destinations = [_h.Globex.Address] }] },
                "globex" => c with { Upstreams = [.. c.Upstreams, moved with { Name = "moved" }] },
                _ => c,
            }).ToArray(),
        });

        Assert.Equal("cut", await EchoAsync(ws).WaitAsync(HangGuard));
        await AssertWebSocketRecordedAbortedAsync();
    }
}
