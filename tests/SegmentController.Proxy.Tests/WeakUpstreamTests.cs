using System.Diagnostics;
using System.Net;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class WeakUpstreamTests : IAsyncLifetime, IDisposable
{
    private Process? _legacy;
    private Process? _untrusted;
    private TestPki? _otherPki;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ProxyHarness.StartAsync(extraAcmeUpstreams: h =>
        {
            var (_, cert, key) = h.Pki.IssueServer("legacy", "localhost");
            var (process, port) = OpenSsl.StartTlsServerAsync(cert, key, "-tls1_1").GetAwaiter().GetResult();
            _legacy = process;

            // TLS 1.2 and 1.3, but a certificate from a CA the policy does not trust.
            _otherPki = new TestPki(h.Directory, "another CA");
            var (_, otherCert, otherKey) = _otherPki.IssueServer("stranger", "localhost");
            var (untrusted, untrustedPort) = OpenSsl.StartTlsServerAsync(otherCert, otherKey).GetAwaiter().GetResult();
            _untrusted = untrusted;
            return
            [
                new Upstream { Name = "legacy", Hosts = ["legacy.test"], Destinations = [new Uri($"https://127.0.0.1:{port}/")] },
                new Upstream { Name = "stranger", Hosts = ["unknown.test"], Destinations = [new Uri($"https://127.0.0.1:{untrustedPort}/")] },
            ];
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var process in new[] { _legacy, _untrusted })
        {
            if (process is not null)
            {
                process.Kill();
                await process.WaitForExitAsync();
                process.Dispose();
            }
        }

        await _h.DisposeAsync();
    }

    public void Dispose() => _otherPki?.Dispose();

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

    [Fact]
    public async Task UpstreamUntrustedCertificate_RefusedButNotReportedWeak()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        var response = await agent.GetAsync(new Uri("https://unknown.test/"));

        // The handshake failed too, but the upstream speaks TLS 1.2+: a certificate problem, not weak TLS.
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(_h.Findings.Findings);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
    }
}
