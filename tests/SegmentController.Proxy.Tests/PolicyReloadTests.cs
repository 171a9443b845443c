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
        for (var i = 0; i < 100; i++)
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

    [Fact]
    public async Task NewPolicy_RoutesSwapped_InvalidOneKeepsLastGood()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        _h.Policy.Set(WithAcmeUpstream(new Upstream { Name = "crm", Hosts = ["legacy.test"], Destinations = [_h.Acme.Address] }));
        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(agent, "https://legacy.test/", HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);

        // Plain http:// upstreams are never configured: the last good routes stay.
        _h.Policy.Set(WithAcmeUpstream(new Upstream { Name = "crm", Hosts = ["acme.test"], Destinations = [new Uri($"http://127.0.0.1:{_h.Acme.Port}/")] }));
        await Task.Delay(300);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://legacy.test/"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync(new Uri("https://acme.test/"))).StatusCode);
    }
}
