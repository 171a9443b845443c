using System.Net;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// Agents present TLS client certificates (real handshakes, certificates made in the test): a certificate
/// must chain to the policy's client CA bundle, map to exactly one client, and that client must be the
/// source address's client.
/// </summary>
public sealed class ClientCertificateTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync(agentCertificates: true);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 0)]
    public async Task OwnClientsCertificate_ForwardedAndIdentityRecorded(int major, int minor)
    {
        using var certificate = _h.Pki.IssueClient("CN=agent-0042, OU=Agents, O=Acme");
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, new Version(major, minor), certificate);

        var response = await agent.GetAsync(new Uri("https://acme.test/orders"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_h.Acme.Hits);
        Assert.Empty(_h.Findings.Findings);
        var record = (await AccessRecordsAsync(1)).Single();
        Assert.Equal("forwarded", record.GetProperty("outcome").GetString());
        Assert.Equal(certificate.Subject, record.GetProperty("identity").GetString());
        Assert.Equal(CertificateFingerprint.Of(certificate), record.GetProperty("identity_sha256").GetString());
        Assert.Equal("acme", record.GetProperty("identity_client").GetString());
    }

    [Fact]
    public async Task CertificateListedByFingerprint_Forwarded()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, certificate: _h.AcmeKiosk);

        var response = await agent.GetAsync(new Uri("https://acme.test/kiosk"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_h.Acme.Hits);
    }

    [Fact]
    public async Task OtherClientsCertificate_403AndCrossClientRequest()
    {
        using var globexCertificate = _h.Pki.IssueClient("CN=agent-7, OU=Agents, O=Globex");
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, certificate: globexCertificate);

        // Acme's own host from acme's segment: only the certificate is wrong.
        var own = await agent.GetAsync(new Uri("https://acme.test/orders"));
        var other = await agent.GetAsync(new Uri("https://globex.test/customers"));

        Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.CrossClientRequest, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("globex", finding.Evidence["target_client"]);
        Assert.Equal(CertificateFingerprint.Of(globexCertificate), finding.Evidence["certificate_sha256"]);
        Assert.Equal(2, _h.Metrics.Count("acme", ProxyOutcomes.CrossClient));
        Assert.All(await AccessRecordsAsync(2), r => Assert.Equal("globex", r.GetProperty("identity_client").GetString()));
    }

    [Fact]
    public async Task NoCertificate_403AndUnknownSource()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        var response = await agent.GetAsync(new Uri("https://acme.test/orders"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.UnknownSource, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("presented no client certificate", finding.Evidence["problem"]);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UnknownIdentity));
    }

    [Fact]
    public async Task CertificateOfUntrustedCa_403AndUnknownSource()
    {
        using var rogue = new TestPki(_h.Directory, "rogue CA");
        using var forged = rogue.IssueClient("CN=agent-0042, OU=Agents, O=Acme");
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, certificate: forged);

        var response = await agent.GetAsync(new Uri("https://acme.test/orders"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.UnknownSource, finding.Rule);
        Assert.StartsWith("presented a certificate not issued under the client CA bundle", (string)finding.Evidence["problem"]!, StringComparison.Ordinal);
        var record = (await AccessRecordsAsync(1)).Single();
        Assert.Equal("unknown-identity", record.GetProperty("outcome").GetString());
        Assert.Equal(CertificateFingerprint.Of(forged), record.GetProperty("identity_sha256").GetString());
        Assert.False(record.TryGetProperty("identity_client", out _));
    }

    [Fact]
    public async Task CertificateMatchingNoClient_403AndUnknownSource()
    {
        using var stranger = _h.Pki.IssueClient("CN=contractor, O=Initech");
        using var agent = _h.Agent(ProxyHarness.GlobexAgent, certificate: stranger);

        var response = await agent.GetAsync(new Uri("https://globex.test/"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Globex.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.UnknownSource, finding.Rule);
        Assert.Equal(["globex"], finding.Clients);
        Assert.Equal("presented a certificate that identifies no client", finding.Evidence["problem"]);
    }

    [Fact]
    public async Task CertificateMatchingTwoClients_403AndUnknownSource()
    {
        // Issued under the client CA bundle, and its subject holds both clients' patterns (O=Acme and O=Globex,
        // each with OU=Agents): it identifies neither, even from acme's own segment for acme's own host.
        using var both = _h.Pki.IssueClient("CN=agent-0099, OU=Agents, O=Acme, O=Globex");
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, certificate: both);

        var response = await agent.GetAsync(new Uri("https://acme.test/orders"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.UnknownSource, finding.Rule);
        Assert.Equal(Severity.High, finding.Severity);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("presented a certificate that matches several clients (acme, globex); it identifies none", finding.Evidence["problem"]);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UnknownIdentity));
        var record = (await AccessRecordsAsync(1)).Single();
        Assert.Equal(ProxyOutcomes.UnknownIdentity, record.GetProperty("outcome").GetString());
        Assert.Equal(403, record.GetProperty("status").GetInt32());
        Assert.Equal(CertificateFingerprint.Of(both), record.GetProperty("identity_sha256").GetString());
        Assert.False(record.TryGetProperty("identity_client", out _));
    }

    [Fact]
    public async Task ExpiredCertificateOfOwnClient_403AndUnknownSource()
    {
        // Acme's subject, issued under the client CA bundle, but its validity ended an hour ago.
        using var expired = _h.Pki.IssueClient("CN=agent-0042, OU=Agents, O=Acme", DateTimeOffset.UtcNow.AddHours(-20), DateTimeOffset.UtcNow.AddHours(-1));
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, certificate: expired);

        var response = await agent.GetAsync(new Uri("https://acme.test/orders"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.UnknownSource, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("presented a certificate outside its validity period", finding.Evidence["problem"]);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UnknownIdentity));
        var record = (await AccessRecordsAsync(1)).Single();
        Assert.Equal(ProxyOutcomes.UnknownIdentity, record.GetProperty("outcome").GetString());
        Assert.Equal(403, record.GetProperty("status").GetInt32());
        Assert.Equal(CertificateFingerprint.Of(expired), record.GetProperty("identity_sha256").GetString());
        Assert.False(record.TryGetProperty("identity_client", out _));
    }

    private async Task<IReadOnlyList<JsonElement>> AccessRecordsAsync(int count) => await _h.AccessRecordsAsync(count);
}
