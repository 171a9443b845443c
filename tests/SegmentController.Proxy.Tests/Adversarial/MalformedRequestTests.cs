using SegmentController.Core.Findings;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// Requests the HTTP server refuses by itself, before the proxy's middleware sees them: each is answered by the server,
/// forwarded nowhere, and still on record (outcome <c>malformed</c>), counted, and from a source in no segment a finding.
/// Raw bytes over TLS, the upstreams' own logs, the store's records.
/// </summary>
public sealed class MalformedRequestTests : IAsyncLifetime
{
    private const string End = "\r\n";

    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    public static TheoryData<string, string, int, string, string> Refused() => new()
    {
        // name, request, status, method recorded, host recorded
        { "absolute-uri-other-authority", $"GET https://globex.test/abs HTTP/1.1{End}Host: acme.test{End}{End}", 400, "GET", "acme.test" },
        { "transfer-encoding-not-chunked", $"POST /te HTTP/1.1{End}Host: acme.test{End}Transfer-Encoding: gzip{End}{End}", 400, "POST", "acme.test" },
        { "two-content-lengths", $"POST /cl HTTP/1.1{End}Host: acme.test{End}Content-Length: 1{End}Content-Length: 2{End}{End}ab", 400, "POST", "acme.test" },
        { "two-hosts", $"GET /hosts HTTP/1.1{End}Host: acme.test{End}Host: globex.test{End}{End}", 400, "GET", "acme.test,globex.test" },
        { "headers-too-large", $"GET /big HTTP/1.1{End}Host: acme.test{End}X-Filler: {new string('a', 40_000)}{End}{End}", 431, "GET", "acme.test" },
        { "request-line-garbled", $"GET /a b c HTTP/1.1{End}Host: acme.test{End}{End}", 400, "", "" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task RefusedByTheServer_AnsweredForwardedNowhere_AndOnRecord(string name, string request, int status, string method, string host)
    {
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", request);

        Assert.True(answer.StartsWith($"HTTP/1.1 {status}", StringComparison.Ordinal), $"{name}: {answer}");
        var record = Assert.Single(await _h.AccessRecordsAsync(1));
        Assert.Equal("malformed", record.GetProperty("outcome").GetString());
        Assert.Equal("acme", record.GetProperty("client").GetString());
        Assert.Equal(ProxyHarness.AcmeAgent, record.GetProperty("source").GetString());
        Assert.Equal(status, record.GetProperty("status").GetInt32());
        Assert.Equal(method, record.GetProperty("method").GetString());
        Assert.Equal(host, record.GetProperty("host").GetString());
        Assert.Equal(0, record.GetProperty("bytes_in").GetInt64());
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
        Assert.Equal(1, _h.Metrics.Count("acme", "malformed"));
        Assert.DoesNotContain(_h.Findings.Findings, f => f.Rule == RuleIds.UnknownSource);
    }

    [Fact]
    public async Task AfterAGoodRequestOnTheSameConnection_BothOnRecord_EachWithItsOwnOutcome()
    {
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", $"GET /first HTTP/1.1{End}Host: acme.test{End}{End}GET https://globex.test/second HTTP/1.1{End}Host: acme.test{End}{End}");

        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.Contains($"{End}HTTP/1.1 400", answer, StringComparison.Ordinal);
        var records = await _h.AccessRecordsAsync(2);
        Assert.Equal(2, records.Count);
        var first = Assert.Single(records, r => r.GetProperty("path").GetString() == "/first");
        Assert.Equal("forwarded", first.GetProperty("outcome").GetString());
        var second = Assert.Single(records, r => r.GetProperty("outcome").GetString() == "malformed");
        Assert.Equal(400, second.GetProperty("status").GetInt32());
        Assert.Single(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
    }

    [Fact]
    public async Task FromASourceInNoSegment_OnRecord_WithAnUnknownSourceFinding()
    {
        var answer = await _h.RawAsync(ProxyHarness.UnknownAgent, "acme.test", $"POST /probe HTTP/1.1{End}Host: globex.test{End}Transfer-Encoding: gzip, chunked, gzip{End}{End}");

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        var record = Assert.Single(await _h.AccessRecordsAsync(1));
        Assert.Equal("malformed", record.GetProperty("outcome").GetString());
        Assert.False(record.TryGetProperty("client", out _));
        Assert.Equal(ProxyHarness.UnknownAgent, record.GetProperty("source").GetString());
        await Eventually.UntilAsync(
            () => _h.Findings.Findings.Any(f => f.Rule == RuleIds.UnknownSource && f.Summary.Contains(ProxyHarness.UnknownAgent, StringComparison.Ordinal) && f.Summary.Contains("globex.test/probe", StringComparison.Ordinal)),
            () => "no unknown-source finding for the malformed request");
        Assert.Equal(1, _h.Metrics.Count("unknown", "malformed"));
        Assert.Empty(_h.Globex.Hits);
    }

    [Fact]
    public async Task BodyMalformedWhileForwarded_OneRecord_TheMiddlewaresOwn_EndedByTheAgent()
    {
        // The headers are sound, so the request is taken and forwarded; its chunked body breaks on the way.
        var answer = await _h.RawAsync(ProxyHarness.AcmeAgent, "acme.test", $"POST /broken-body HTTP/1.1{End}Host: acme.test{End}Transfer-Encoding: chunked{End}{End}zz{End}abc{End}0{End}{End}");

        // The connection is over when the answer is read: a refusal the server reported for it would have been counted by now.
        Assert.StartsWith("HTTP/1.1", answer, StringComparison.Ordinal);
        var record = Assert.Single(await _h.AccessRecordsAsync(1));
        Assert.Equal("/broken-body", record.GetProperty("path").GetString());
        // The agent's side failed, not the upstream: the request is on record as ended by the agent.
        Assert.Equal("aborted", record.GetProperty("outcome").GetString());
        Assert.Equal(0, _h.Metrics.Count("acme", "malformed"));
        Assert.Equal(0, _h.Metrics.Count("acme", "upstream-error"));
    }
}
