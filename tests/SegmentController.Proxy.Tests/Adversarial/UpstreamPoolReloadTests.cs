using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// The proxy's pooled upstream connections across a reload: an idle HTTP/1.1 keep-alive connection to an
/// upstream the reload gives another client is closed then (the old client's pool must not keep a way
/// into the new client's system open, and the new client's trip would not see it); one to an upstream
/// the reload leaves alone is not, and stays in use.
/// </summary>
public sealed class UpstreamPoolReloadTests : IAsyncLifetime, IDisposable
{
    // Well inside the pool's idle timeout (a minute): a connection closed by then was closed by the reload.
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(30);

    private readonly UpstreamPoolMeter _pools = new();
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync(upstreamProtocols: HttpProtocols.Http1);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    public void Dispose() => _pools.Dispose();

    /// <summary>Sends one request for acme's upstream and returns the upstream connection it came on, once idle in the pool.</summary>
    private async Task<UpstreamConnection> IdleAcmeConnectionAsync(string path)
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using (var response = await agent.GetAsync(new Uri("https://acme.test" + path)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("upstream:acme", await response.Content.ReadAsStringAsync());
        }

        var hit = Assert.Single(_h.Acme.Hits, h => h.Path == path);
        Assert.Equal("HTTP/1.1", hit.Protocol);
        var connection = _h.Acme.Connections[hit.ConnectionId];
        Assert.False(connection.IsClosed);

        // Every connection the upstream holds open is idle in the proxy's pool: no request is on one.
        await Eventually.UntilAsync(
            () => _pools.Idle(_h.Acme.Port) == _h.Acme.Connections.Values.Count(c => !c.IsClosed),
            () => $"acme's pool holds {_pools.Idle(_h.Acme.Port)} idle connection(s), the upstream {_h.Acme.Connections.Values.Count(c => !c.IsClosed)} open");
        return connection;
    }

    [Fact]
    public async Task UpstreamMovedToAnotherClient_IdleKeepAliveConnection_ClosedByTheReload()
    {
        var pooled = await IdleAcmeConnectionAsync("/before");

        // acme's upstream (host and server) is globex's now; acme's crm route sends elsewhere.
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

        // The upstream sees the proxy close (FIN) or reset the connection acme's pool held.
        await pooled.Closed.Task.WaitAsync(CloseWait);

        // The upstream is globex's now: globex's agents reach it, over a connection of globex's pool.
        using var globex = _h.Agent(ProxyHarness.GlobexAgent);
        using var response = await globex.GetAsync(new Uri("https://acme.test/after"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(pooled.Id, Assert.Single(_h.Acme.Hits, h => h.Path == "/after").ConnectionId);
    }

    [Fact]
    public async Task UnrelatedReload_IdleKeepAliveConnection_Kept()
    {
        var pooled = await IdleAcmeConnectionAsync("/before");
        var waited = _pools.Waited(_h.Acme.Port);

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

        // A reset would have been sent while the reload was applied; by the time acme's next request went
        // through both legs (new TLS handshakes included), the upstream would have seen it.
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using (var response = await agent.GetAsync(new Uri("https://acme.test/after")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.False(pooled.IsClosed, "an unrelated reload closed acme's pooled upstream connection");

        // And the pool kept in use: the request after the reload found a warm connection in it, where a new
        // pool has none and makes a request wait for one to be opened. Which idle connection it takes is the
        // pool's choice: a pool whose first request was downgraded from HTTP/2 may have opened a second
        // connection meanwhile, and keeps it idle beside the first.
        Assert.True(
            _pools.Waited(_h.Acme.Port) == waited,
            "the request after an unrelated reload found no idle connection in acme's pool and waited for a new one");
        Assert.Single(_h.Acme.Hits, h => h.Path == "/after");
    }

    [Fact]
    public async Task ReloadTrustingAnotherCa_WarmConnectionNotUsedAgain()
    {
        var pooled = await IdleAcmeConnectionAsync("/before");

        // Upstream certificates must now chain to another CA: acme's upstream no longer passes, and the
        // connection it was trusted on before must not carry the next request.
        using var other = new TestPki(_h.Directory, "another upstream CA");
        var policy = _h.Policy.Current;
        _h.Policy.Set(policy with
        {
            Controller = policy.Controller with { Proxy = policy.Controller.Proxy with { UpstreamCaFile = other.CaPemPath } },
        });

        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using (var response = await agent.GetAsync(new Uri("https://acme.test/after")))
        {
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path == "/after");
    }
}
