using System.Diagnostics;
using System.Net;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class PolicyReloadTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private SitePolicy WithAcmeUpstream(Upstream upstream) => _h.Policy.Current with
    {
        Clients = _h.Policy.Current.Clients.Select(c => c.Id == "acme" ? c with { Upstreams = [upstream] } : c).ToArray(),
    };

    private static async Task<HttpStatusCode> EventuallyAsync(HttpClient agent, string url, HttpStatusCode wanted)
    {
        var status = HttpStatusCode.InternalServerError;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            status = (await agent.GetAsync(new Uri(url))).StatusCode;
            if (status == wanted)
            {
                break;
            }

            await Task.Delay(50);
        }

        return status;
    }

    /// <summary>Waits (a minute at most) until the proxy has judged a policy and refused it for a reason naming <paramref name="reason"/>.</summary>
    private async Task RefusedAsync(string reason)
    {
        var deadline = Stopwatch.StartNew();
        while (!_h.Components.Snapshots.LastErrors.Any(e => e.Contains(reason, StringComparison.Ordinal)))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(1), $"the proxy did not refuse the policy for '{reason}': [{string.Join("; ", _h.Components.Snapshots.LastErrors)}]");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task NewPolicy_RoutesSwapped_InvalidOneKeepsLastGood()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        _h.Policy.Set(WithAcmeUpstream(new Upstream { Name = "crm", Hosts = ["legacy.test"], Destinations = [_h.Acme.Address] }));
        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(agent, "https://legacy.test/", HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);

        // Plain http:// upstreams are never configured: once the proxy has refused the policy, the last good routes stay.
        var inForce = _h.Components.Snapshots.Current.Policy;
        _h.Policy.Set(WithAcmeUpstream(new Upstream { Name = "crm", Hosts = ["acme.test"], Destinations = [new Uri($"http://127.0.0.1:{_h.Acme.Port}/")] }));
        await RefusedAsync("is not https://");
        Assert.Same(inForce, _h.Components.Snapshots.Current.Policy);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://legacy.test/"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);
    }

    [Fact]
    public async Task RejectedReload_ChangesNothing_NeitherAddressesNorCertificatesNorTrust()
    {
        using var acmeAgent = _h.Agent(ProxyHarness.AcmeAgent);
        using var movedAgent = _h.Agent("127.0.3.10");
        Assert.Equal(HttpStatusCode.Forbidden, (await movedAgent.GetAsync(new Uri("https://acme.test/"))).StatusCode);

        // acme's agents move to 127.0.3.0/24 in the same policy that gives globex a plain http:// upstream:
        // the routes cannot be built, so the move must not happen either.
        var current = _h.Policy.Current;
        var rejected = current with
        {
            Clients = current.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Segments = [c.Segments[0] with { Subnets = [System.Net.IPNetwork.Parse("127.0.3.0/24")] }] },
                "globex" => c with { Upstreams = [c.Upstreams[0] with { Destinations = [new Uri($"http://127.0.0.1:{_h.Globex.Port}/")] }] },
                _ => c,
            }).ToArray(),
        };
        _h.Policy.Set(rejected);

        Assert.Equal(HttpStatusCode.OK, (await acmeAgent.GetAsync(new Uri("https://acme.test/still"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await movedAgent.GetAsync(new Uri("https://acme.test/moved"))).StatusCode);
        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path == "/moved");

        // A CA bundle that cannot be read is refused the same way: the routes it came with are not put in force.
        var unreadableCa = current with
        {
            Controller = current.Controller with { Proxy = current.Controller.Proxy with { UpstreamCaFile = Path.Combine(_h.Directory, "no-such-ca.pem") } },
            Clients = current.Clients.Select(c => c.Id == "acme" ? c with { Upstreams = [c.Upstreams[0] with { Hosts = ["legacy.test"] }] } : c).ToArray(),
        };
        _h.Policy.Set(unreadableCa);

        Assert.Equal(HttpStatusCode.OK, (await acmeAgent.GetAsync(new Uri("https://acme.test/trust-kept"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await acmeAgent.GetAsync(new Uri("https://legacy.test/"))).StatusCode);
    }

    [Theory]
    [InlineData("/x//y")]
    [InlineData("/ws?x")]
    [InlineData("/a{id")]
    public async Task PolicyWithARouteYarpRefuses_ChangesNothing_MovedHostStaysItsClientsAndTheRefusalIsLogged(string prefix)
    {
        // A policy that did not pass the policy reader (built in code, or read by an older reader): legacy.test
        // moves from acme to globex, with a path prefix that makes no route.
        using var acmeAgent = _h.Agent(ProxyHarness.AcmeAgent);
        _h.Policy.Set(WithAcmeUpstream(new Upstream { Name = "crm", Hosts = ["acme.test", "legacy.test"], Destinations = [_h.Acme.Address] }));
        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(acmeAgent, "https://legacy.test/before", HttpStatusCode.OK));
        var current = _h.Policy.Current;
        var moved = current with
        {
            Clients = current.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Upstreams = [c.Upstreams[0] with { Hosts = ["acme.test"] }] },
                "globex" => c with { Upstreams = [c.Upstreams[0] with { Hosts = ["globex.test", "legacy.test"], PathPrefixes = ["/", prefix] }] },
                _ => c,
            }).ToArray(),
        };

        _h.Policy.Set(moved);

        Assert.True(
            ReferenceEquals(current, _h.Components.Snapshots.Current.Policy),
            "the proxy put in force the agent addresses, certificates and trust of a policy whose routes YARP refuses");
        Assert.Contains(_h.Components.Snapshots.LastErrors, e => e.Contains(prefix, StringComparison.Ordinal));
        Assert.Contains(_h.Logs.Entries, e => e.Event.Id == ProxyEventIds.ConfigRejected && e.Message.Contains(prefix, StringComparison.Ordinal));
        await Task.Delay(300);
        Assert.Equal(HttpStatusCode.OK, (await acmeAgent.GetAsync(new Uri("https://legacy.test/kept"))).StatusCode);
        Assert.Contains(_h.Acme.Hits, h => h.Path == "/kept");
        Assert.DoesNotContain(_h.Globex.Hits, h => h.Path == "/kept");
        Assert.DoesNotContain(_h.Findings.Findings, f => f.Rule == "cross-client-request");
    }

    [Fact]
    public async Task ReloadSwapsTheClientsUpstreams_RequestRoutedBeforeIt_RefusedNotForwardedToTheOtherClientsUpstream()
    {
        var hold = new HeldAfterRouting();
        await using var h = await ProxyHarness.StartAsync(afterRouting: hold.Hook);
        using var agent = h.Agent(ProxyHarness.AcmeAgent);

        // Routed by the table in which acme.test is acme/crm, sending to acme's upstream server.
        var held = agent.GetAsync(new Uri("https://acme.test/held"));
        await hold.Routed();

        // The reload gives acme's upstream server to globex and globex's to acme, under new upstream names.
        var current = h.Policy.Current;
        h.Policy.Set(current with
        {
            Clients = current.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Upstreams = [new Upstream { Name = "crm-b", Hosts = ["acme.test"], Destinations = [h.Globex.Address] }] },
                "globex" => c with { Upstreams = [new Upstream { Name = "crm-b", Hosts = ["globex.test"], Destinations = [h.Acme.Address] }] },
                _ => c,
            }).ToArray(),
        });
        Assert.NotSame(current, h.Components.Snapshots.Current.Policy);
        hold.Release();

        // Neither server saw it: acme's old server is globex's now, and the route it matched is not the policy's in force.
        using var response = await held;
        Assert.DoesNotContain(h.Acme.Hits, hit => hit.Path == "/held");
        Assert.DoesNotContain(h.Globex.Hits, hit => hit.Path == "/held");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        // Counted as the request ends, which may be just after its answer reached the agent.
        await Eventually.UntilAsync(() => h.Metrics.Count("acme", ProxyOutcomes.CrossClient) > 0, () => "no request of acme counted as cross-client");
        Assert.Equal(1, h.Metrics.Count("acme", ProxyOutcomes.CrossClient));
        Assert.DoesNotContain(h.Findings.Findings, f => f.Rule == "cross-client-request");

        // Routed by the table now in force, acme.test goes to acme's new upstream server.
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/after"))).StatusCode);
        Assert.Contains(h.Globex.Hits, hit => hit.Path == "/after");
        Assert.DoesNotContain(h.Acme.Hits, hit => hit.Path == "/after");
    }

    [Fact]
    public async Task ReloadGivesTheHostToAnotherClient_RequestRoutedBeforeIt_CutNotForwardedByTheReplacedRoute()
    {
        var hold = new HeldAfterRouting();
        await using var h = await ProxyHarness.StartAsync(afterRouting: hold.Hook);
        using var agent = h.Agent(ProxyHarness.AcmeAgent);
        var first = h.Policy.Current;
        h.Policy.Set(first with
        {
            Clients = first.Clients.Select(c => c.Id == "acme" ? c with { Upstreams = [c.Upstreams[0] with { Hosts = ["acme.test", "legacy.test"] }] } : c).ToArray(),
        });
        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(agent, "https://legacy.test/ready", HttpStatusCode.OK));

        // Routed by the table in which legacy.test is acme's (route acme/crm#0).
        var held = agent.GetAsync(new Uri("https://legacy.test/held"));
        await hold.Routed();

        // The reload gives legacy.test to globex; acme's route keeps its id and cluster but no longer matches it.
        var current = h.Policy.Current;
        h.Policy.Set(current with
        {
            Clients = current.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Upstreams = [c.Upstreams[0] with { Hosts = ["acme.test"] }] },
                "globex" => c with { Upstreams = [c.Upstreams[0] with { Hosts = ["globex.test", "legacy.test"] }] },
                _ => c,
            }).ToArray(),
        });
        Assert.NotSame(current, h.Components.Snapshots.Current.Policy);
        hold.Release();

        // Neither server saw it, and the agent, who asked while legacy.test was its client's, is not reported.
        await ProxyHarness.AssertDroppedAsync(() => held);
        Assert.DoesNotContain(h.Acme.Hits, hit => hit.Path == "/held");
        Assert.DoesNotContain(h.Globex.Hits, hit => hit.Path == "/held");
        // Counted as the request ends, which may be just after the agent saw its connection dropped.
        await Eventually.UntilAsync(() => h.Metrics.Count("acme", ProxyOutcomes.Aborted) > 0, () => "no request of acme counted as aborted");
        Assert.Equal(1, h.Metrics.Count("acme", ProxyOutcomes.Aborted));
        Assert.DoesNotContain(h.Findings.Findings, f => f.Rule == "cross-client-request");
        Assert.Contains(h.Logs.Entries, e => e.Event.Id == ProxyEventIds.RouteNotInForce && e.Message.Contains("acme/crm#0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AgentCertificatesRequired_ClientCaBundleUnreadable_PolicyRefused_AgentsStillIdentified()
    {
        await using var h = await ProxyHarness.StartAsync(agentCertificates: true);
        var current = h.Policy.Current;
        var unreadable = current with
        {
            Controller = current.Controller with { Proxy = current.Controller.Proxy with { ClientCaFile = Path.Combine(h.Directory, "no-such-agent-ca.pem") } },
        };

        h.Policy.Set(unreadable);

        Assert.True(ReferenceEquals(current, h.Components.Snapshots.Current.Policy), "the proxy put in force a policy whose client CA bundle it cannot read");
        Assert.Contains(h.Components.Snapshots.LastErrors, e => e.Contains("no-such-agent-ca.pem (controller.proxy.client_ca) cannot be read: no such file", StringComparison.Ordinal));
        Assert.Null(h.Components.Directory.ClientCaError);
        Assert.Contains(h.Logs.Entries, e => e.Event.Id == ProxyEventIds.ConfigRejected && e.Message.Contains("no-such-agent-ca.pem", StringComparison.Ordinal));
    }
}
