using System.Net;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// Headers in which an agent claims another address (another client's agent) are never what attributes
/// it, at the proxy or at its client's upstream: the upstream gets the proxy's X-Forwarded-For only. Nor does
/// the upstream get an agent's word on the certificate it presented, or on the URL, host, port or scheme it asked for.
/// </summary>
public sealed class SourceHeaderTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 0)]
    public async Task ClaimedAddressHeaders_NotTrusted_NotPassedOn(int major, int minor)
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, new Version(major, minor));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("https://acme.test/claims")) { Version = new Version(major, minor), VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.Add("X-Forwarded-For", ProxyHarness.GlobexAgent);
        request.Headers.Add("X-Forwarded-Host", "globex.test");
        request.Headers.Add("Forwarded", $"for={ProxyHarness.GlobexAgent};host=globex.test");
        foreach (var header in new[] { "X-Real-IP", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "X-Original-Forwarded-For" })
        {
            request.Headers.Add(header, ProxyHarness.GlobexAgent);
        }

        using var response = await agent.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var hit = Assert.Single(_h.Acme.Hits, h => h.Path == "/claims");
        Assert.Equal(ProxyHarness.AcmeAgent, hit.ForwardedFor);
        Assert.Equal("acme.test", hit.Headers["X-Forwarded-Host"]);
        Assert.DoesNotContain(hit.Headers, h => h.Value.Contains(ProxyHarness.GlobexAgent, StringComparison.Ordinal) || h.Value.Contains("globex", StringComparison.Ordinal));
        var record = Assert.Single(await _h.AccessRecordsAsync(1), r => r.GetProperty("path").GetString() == "/claims");
        Assert.Equal(ProxyHarness.AcmeAgent, record.GetProperty("source").GetString());
        Assert.Equal("acme", record.GetProperty("client").GetString());
    }

    [Theory]
    [InlineData("x-real-ip")]
    [InlineData("TRUE-CLIENT-IP")]
    [InlineData("X-Client-Ip")]
    [InlineData("x-cluster-client-ip")]
    [InlineData("Cf-Connecting-Ip")]
    [InlineData("fastly-client-ip")]
    [InlineData("X-ORIGINAL-FORWARDED-FOR")]
    public async Task ClaimedAddressHeader_AloneInAnyCase_NotPassedOn(string header)
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("https://acme.test/claim-alone"));
        request.Headers.Add(header, ProxyHarness.GlobexAgent);
        request.Headers.Add("X-Agent-Note", "kept");

        using var response = await agent.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var hit = Assert.Single(_h.Acme.Hits, h => h.Path == "/claim-alone");
        Assert.DoesNotContain(hit.Headers, h => h.Value.Contains(ProxyHarness.GlobexAgent, StringComparison.Ordinal));
        Assert.Equal("kept", hit.Headers["X-Agent-Note"]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 0)]
    public async Task ClaimedCertificateAndUrlHeaders_InAnyCase_NotPassedOn_OtherHeadersKept(int major, int minor)
    {
        string[] claims =
        [
            "X-Forwarded-Client-Cert", "x-client-cert", "X-Client-Certificate", "X-ARR-ClientCert", "X-Client-DN", "X-Client-Verify", "X-SSL-Cert",
            "Client-Cert", "Client-Cert-Chain", "X-SSL-Client-S-DN", "x-ssl-client-verify", "SSL-Client-Subject-DN", "X-Client-Cert-Serial",
            "X-Amzn-Mtls-Clientcert", "X-Original-URL", "X-Rewrite-URL", "X-Original-Host", "X-Host", "X-Forwarded-Server", "X-Forwarded-Port",
            "X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Url-Scheme", "Front-End-Https",
        ];
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, new Version(major, minor));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("https://acme.test/cert-claims")) { Version = new Version(major, minor), VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        foreach (var header in claims)
        {
            request.Headers.TryAddWithoutValidation(header, "CN=g1,O=Globex /globex");
        }

        request.Headers.Add("X-Agent-Note", "kept");
        request.Headers.Add("X-Ssl-Clients-Seen", "kept too");

        using var response = await agent.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var hit = Assert.Single(_h.Acme.Hits, h => h.Path == "/cert-claims");
        Assert.DoesNotContain(hit.Headers, h => h.Value.Contains("globex", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("kept", hit.Headers["X-Agent-Note"]);
        Assert.Equal("kept too", hit.Headers["X-Ssl-Clients-Seen"]);
        Assert.Equal("https", hit.Headers["X-Forwarded-Proto"]);
    }
}
