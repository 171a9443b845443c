using System.Net;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Core.Findings;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// A policy without <c>controller.proxy.upstream_ca</c>: upstream certificates must chain to the system trust
/// store. The upstreams here are issued by the test's own CA, which the system store does not hold (the test
/// checks that, and changes nothing in the store).
/// </summary>
public sealed class UpstreamSystemTrustTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync(upstreamCaInPolicy: false);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task NoUpstreamCa_UpstreamOfACaOutsideTheSystemStore_502NothingForwardedNotReportedWeak()
    {
        Assert.Null(_h.Policy.Current.Controller.Proxy.UpstreamCaFile);
        using (var chain = new X509Chain())
        {
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            Assert.False(chain.Build(_h.Pki.Ca), "the test CA is in the system trust store: this test cannot tell system trust from none");
        }

        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        using var response = await agent.GetAsync(new Uri("https://acme.test/orders"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
        Assert.Equal(0, _h.Metrics.Count("acme", ProxyOutcomes.Forwarded));

        // The upstream speaks TLS 1.2 and 1.3: its certificate is untrusted, its TLS is not weak.
        Assert.DoesNotContain(_h.Findings.Findings, f => f.Rule == RuleIds.WeakUpstreamTls);
        var record = Assert.Single(await _h.AccessRecordsAsync(1));
        Assert.Equal(ProxyOutcomes.UpstreamError, record.GetProperty("outcome").GetString());
        Assert.Equal(502, record.GetProperty("status").GetInt32());
        Assert.Equal(0, record.GetProperty("bytes_out").GetInt64());
    }
}
