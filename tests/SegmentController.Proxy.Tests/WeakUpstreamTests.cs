using System.Diagnostics;
using System.Net;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class WeakUpstreamTests : IAsyncLifetime
{
    private Process? _legacy;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ProxyHarness.StartAsync(extraAcmeUpstreams: h =>
        {
            var (_, cert, key) = h.Pki.IssueServer("legacy", "localhost");
            var (process, port) = OpenSsl.StartTls11ServerAsync(cert, key).GetAwaiter().GetResult();
            _legacy = process;
            return [new Upstream { Name = "legacy", Hosts = ["legacy.test"], Destinations = [new Uri($"https://127.0.0.1:{port}/")] }];
        });
    }

    public async Task DisposeAsync()
    {
        if (_legacy is not null)
        {
            _legacy.Kill();
            await _legacy.WaitForExitAsync();
            _legacy.Dispose();
        }

        await _h.DisposeAsync();
    }

    [Fact]
    public async Task UpstreamOnlyTls11_RefusedAndReported()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        var response = await agent.GetAsync(new Uri("https://legacy.test/"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.WeakUpstreamTls, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
    }
}
