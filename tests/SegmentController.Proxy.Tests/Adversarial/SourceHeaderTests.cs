using System.Net;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// Headers in which an agent claims another address (another client's agent) are never what attributes
/// it, at the proxy or at its client's upstream: the upstream gets the proxy's X-Forwarded-For only.
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
}
