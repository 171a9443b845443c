using SegmentController.Core.Findings;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// Host names written in forms other than the route's: a fully qualified name's trailing dot, an internationalized
/// name's ASCII form; and a tunnel asked for on the agent's own route. Raw requests over TLS, the upstreams' own
/// logs of what reached them, the records and the findings.
/// </summary>
public sealed class HostFormTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData("acme.test.")]
    [InlineData("acme.test.:443")]
    public async Task OwnHostWithTrailingDot_Forwarded(string host)
    {
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", $"GET /fqdn-own HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.Single(_h.Acme.Hits, h => h.Path == "/fqdn-own");
        var record = Assert.Single(await _h.AccessRecordsAsync(1), r => r.GetProperty("path").GetString() == "/fqdn-own");
        Assert.Equal("forwarded", record.GetProperty("outcome").GetString());
    }

    [Theory]
    [InlineData("globex.test.")]
    [InlineData("GLOBEX.TEST.:443")]
    public async Task OtherClientsHostWithTrailingDot_RefusedAsCrossClient_WithItsFinding(string host)
    {
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", $"GET /fqdn-other HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 403", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(_h.Globex.Hits, h => h.Path == "/fqdn-other");
        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path == "/fqdn-other");
        var record = Assert.Single(await _h.AccessRecordsAsync(1), r => r.GetProperty("path").GetString() == "/fqdn-other");
        Assert.Equal("cross-client", record.GetProperty("outcome").GetString());
        Assert.Equal("globex", record.GetProperty("route_client").GetString());
        Assert.Contains(_h.Findings.Findings, f => f.Rule == RuleIds.CrossClientRequest && f.Clients.Contains("acme") && f.Summary.Contains("globex.test", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task InternationalizedHostName_RecordedAsTheAgentWroteIt()
    {
        // The ASCII form of a Cyrillic look-alike: the record keeps these bytes, not the Unicode name they decode to.
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", "GET /idn HTTP/1.1\r\nHost: xn--80ak6aa92e.test\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 404", answer, StringComparison.Ordinal);
        var record = Assert.Single(await _h.AccessRecordsAsync(1), r => r.GetProperty("path").GetString() == "/idn");
        Assert.Equal("xn--80ak6aa92e.test", record.GetProperty("host").GetString());
        Assert.Equal("no-route", record.GetProperty("outcome").GetString());
    }

    [Theory]
    [InlineData("CONNECT acme.test:443 HTTP/1.1\r\nHost: acme.test:443\r\n\r\n")]
    [InlineData("CONNECT /tunnel HTTP/1.1\r\nHost: acme.test\r\n\r\n")]
    public async Task TunnelOnTheAgentsOwnRoute_Refused_NotAnUpstreamError(string request)
    {
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", request);

        Assert.StartsWith("HTTP/1.1 405", answer, StringComparison.Ordinal);
        Assert.Empty(_h.Acme.Hits);
        var record = Assert.Single(await _h.AccessRecordsAsync(1), r => r.GetProperty("method").GetString() == "CONNECT");
        Assert.Equal("no-route", record.GetProperty("outcome").GetString());
        Assert.Equal(405, record.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task MalformedInternationalizedHostName_AnsweredAndRecorded_NotDropped()
    {
        // Not a valid ASCII form of any name: the request still gets an answer, a record and, from a source in no
        // segment, its finding.
        var own = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", "GET /bad-idn HTTP/1.1\r\nHost: xn--globex-test\r\nConnection: close\r\n\r\n");
        var stranger = await _h.RawAsync(Stranger, "acme.test", "GET /bad-idn-stranger HTTP/1.1\r\nHost: xn--globex-test\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 404", own, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 403", stranger, StringComparison.Ordinal);
        var records = await _h.AccessRecordsAsync(2);
        var ownRecord = Assert.Single(records, r => r.GetProperty("path").GetString() == "/bad-idn");
        Assert.Equal("xn--globex-test", ownRecord.GetProperty("host").GetString());
        Assert.Equal("no-route", ownRecord.GetProperty("outcome").GetString());
        Assert.Equal("unknown-source", Assert.Single(records, r => r.GetProperty("path").GetString() == "/bad-idn-stranger").GetProperty("outcome").GetString());
        Assert.Contains(_h.Findings.Findings, f => f.Rule == RuleIds.UnknownSource && f.Summary.Contains(Stranger, StringComparison.Ordinal));
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
    }

    [Fact]
    public async Task ProxiedRequest_NoPerRequestLogLines_ItsRecordIsTheTrace()
    {
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", "GET /quiet HTTP/1.1\r\nHost: acme.test\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.Single(await _h.AccessRecordsAsync(1), r => r.GetProperty("path").GetString() == "/quiet");
        Assert.DoesNotContain(_h.Logs.Entries, e => e.Message.StartsWith("Request starting", StringComparison.Ordinal) || e.Message.StartsWith("Request finished", StringComparison.Ordinal));
    }

    private const string Stranger = ProxyHarness.UnknownAgent;
}
