using SegmentController.Core.Findings;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// HTTP/2 requests the server refuses by itself, before the proxy's middleware sees them — it resets the stream or
/// closes the connection and reports it only in its debug log: each is forwarded nowhere and still on record (outcome
/// <c>malformed</c>), counted, and from a source in no segment a finding; a connection that had a stream refused is
/// closed after it. Frames written by hand over TLS, the upstreams' own logs, the store's records.
/// </summary>
public sealed class Http2MalformedRequestTests : IAsyncLifetime
{
    private const uint ProtocolError = 0x1;
    private const uint CompressionError = 0x9;

    private static readonly (string, string)[] Pseudo = [(":method", "GET"), (":scheme", "https"), (":authority", "acme.test"), (":path", "/p")];

    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    /// <summary>Header blocks the server answers by closing the connection (GOAWAY), with the error it gives.</summary>
    public static TheoryData<string, byte[], uint> ConnectionRefused() => new()
    {
        { "field-name-in-capitals", Http2Raw.Block([.. Pseudo, ("X-Upper", "a")]), ProtocolError },
        { "connection-specific-field", Http2Raw.Block([.. Pseudo, ("connection", "close")]), ProtocolError },
        { "te-not-trailers", Http2Raw.Block([.. Pseudo, ("te", "gzip")]), ProtocolError },
        { "pseudo-field-after-a-regular-one", Http2Raw.Block((":method", "GET"), ("x-a", "b"), (":scheme", "https"), (":authority", "acme.test"), (":path", "/p")), ProtocolError },
        { "unknown-pseudo-field", Http2Raw.Block([.. Pseudo, (":foo", "a")]), ProtocolError },
        { "response-pseudo-field", Http2Raw.Block([(":status", "200"), .. Pseudo]), ProtocolError },
        { "path-given-twice", Http2Raw.Block([.. Pseudo, (":path", "/q")]), ProtocolError },
        { "hpack-that-does-not-decode", [0xff, 0xff, 0xff, 0xff, 0x7f], CompressionError },
    };

    /// <summary>Requests the server answers by resetting their stream (RST_STREAM, PROTOCOL_ERROR).</summary>
    public static TheoryData<string, byte[]> StreamRefused() => new()
    {
        { "method-invalid", Http2Raw.Block((":method", "G T"), (":scheme", "https"), (":authority", "acme.test"), (":path", "/p")) },
        { "path-not-absolute", Http2Raw.Block((":method", "GET"), (":scheme", "https"), (":authority", "acme.test"), (":path", "p")) },
        { "path-a-url-of-another-client", Http2Raw.Block((":method", "GET"), (":scheme", "https"), (":authority", "acme.test"), (":path", "https://globex.test/p")) },
        { "scheme-not-the-connection's", Http2Raw.Block((":method", "GET"), (":scheme", "http"), (":authority", "globex.test"), (":path", "/p")) },
        { "path-missing", Http2Raw.Block((":method", "GET"), (":scheme", "https"), (":authority", "globex.test")) },
        { "ended-short-of-its-content-length", Http2Raw.Block((":method", "POST"), (":scheme", "https"), (":authority", "acme.test"), (":path", "/p"), ("content-length", "5")) },
    };

    [Theory]
    [MemberData(nameof(ConnectionRefused))]
    public async Task ConnectionClosedByTheServer_ForwardedNowhere_AndOnRecord(string name, byte[] block, uint error)
    {
        await using var agent = await Http2Raw.ConnectAsync(_h, ProxyHarness.AcmeAgent, "acme.test");
        await agent.HeadersAsync(1, block);

        var frames = await agent.ReadUntilAsync(f => f.Type == Http2Raw.GoAway);

        var goAway = Assert.Single(frames, f => f.Type == Http2Raw.GoAway);
        Assert.True(goAway.ErrorCode() == error, $"{name}: GOAWAY error {goAway.ErrorCode()}");
        AssertMalformedRecord(Assert.Single(await _h.AccessRecordsAsync(1)), "acme", ProxyHarness.AcmeAgent);
        AssertForwardedNowhere();
        Assert.Equal(1, _h.Metrics.Count("acme", "malformed"));
        Assert.DoesNotContain(_h.Findings.Findings, f => f.Rule == RuleIds.UnknownSource);
    }

    [Theory]
    [MemberData(nameof(StreamRefused))]
    public async Task StreamResetByTheServer_ForwardedNowhere_OnRecord_AndTheConnectionClosed(string name, byte[] block)
    {
        await using var agent = await Http2Raw.ConnectAsync(_h, ProxyHarness.AcmeAgent, "acme.test");
        await agent.HeadersAsync(1, block);

        var frames = await agent.ReadUntilAsync(f => f.Type == Http2Raw.RstStream);
        var reset = Assert.Single(frames, f => f.Type == Http2Raw.RstStream);
        Assert.Equal(1, reset.Stream);
        Assert.True(reset.ErrorCode() == ProtocolError, $"{name}: RST_STREAM error {reset.ErrorCode()}");

        // Closed after it, as an HTTP/1.1 connection is after a malformed request: nothing more is read from it.
        await agent.ReadUntilAsync(_ => false);
        Assert.True(agent.Closed, $"{name}: the connection stayed open");

        AssertMalformedRecord(Assert.Single(await _h.AccessRecordsAsync(1)), "acme", ProxyHarness.AcmeAgent);
        AssertForwardedNowhere();
        Assert.Equal(1, _h.Metrics.Count("acme", "malformed"));
    }

    [Fact]
    public async Task AfterAGoodRequestOnTheSameConnection_BothOnRecord_EachWithItsOwnOutcome()
    {
        await using var agent = await Http2Raw.ConnectAsync(_h, ProxyHarness.AcmeAgent, "acme.test");
        await agent.HeadersAsync(1, Http2Raw.Block(Pseudo));
        var answered = await agent.ReadUntilAsync(f => f.Stream == 1 && (f.Flags & Http2Raw.EndStream) != 0);
        Assert.Contains(answered, f => f.Type == Http2Raw.Headers && f.Stream == 1);

        await agent.HeadersAsync(3, Http2Raw.Block((":method", "GET"), (":scheme", "https"), (":authority", "acme.test")));
        var frames = await agent.ReadUntilAsync(f => f.Type == Http2Raw.RstStream);

        Assert.Contains(frames, f => f.Type == Http2Raw.RstStream && f.Stream == 3);
        var records = await _h.AccessRecordsAsync(2);
        Assert.Equal(2, records.Count);
        Assert.Equal("forwarded", Assert.Single(records, r => r.GetProperty("path").GetString() == "/p").GetProperty("outcome").GetString());
        AssertMalformedRecord(Assert.Single(records, r => r.GetProperty("outcome").GetString() == "malformed"), "acme", ProxyHarness.AcmeAgent);
        Assert.Single(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
    }

    [Fact]
    public async Task FromASourceInNoSegment_OnRecord_WithAnUnknownSourceFinding()
    {
        await using var agent = await Http2Raw.ConnectAsync(_h, ProxyHarness.UnknownAgent, "globex.test");
        await agent.HeadersAsync(1, Http2Raw.Block((":method", "GET"), (":scheme", "https"), (":authority", "globex.test"), (":path", "/p"), ("Connection", "keep-alive")));

        var frames = await agent.ReadUntilAsync(f => f.Type == Http2Raw.GoAway);

        Assert.Contains(frames, f => f.Type == Http2Raw.GoAway);
        var record = Assert.Single(await _h.AccessRecordsAsync(1));
        AssertMalformedRecord(record, null, ProxyHarness.UnknownAgent);
        AssertForwardedNowhere();
        Assert.Equal(1, _h.Metrics.Count(ProxyOutcomes.UnknownClient, "malformed"));
        await Eventually.UntilAsync(
            () => _h.Findings.Findings.Any(f => f.Rule == RuleIds.UnknownSource && f.Summary.Contains(ProxyHarness.UnknownAgent, StringComparison.Ordinal)),
            () => "no unknown-source finding for the refused connection");
    }

    [Fact]
    public async Task AnotherRefusedWhileARequestKeepsTheConnectionOpen_TheConnectionIsCut_AtMostTwoRecords()
    {
        await using var agent = await Http2Raw.ConnectAsync(_h, ProxyHarness.AcmeAgent, "acme.test");

        // A request under way (its body never comes) keeps the connection open after the first refusal's GOAWAY.
        await agent.HeadersAsync(1, Http2Raw.Block((":method", "POST"), (":scheme", "https"), (":authority", "acme.test"), (":path", "/slow"), ("content-length", "5")), endStream: false);
        await Eventually.UntilAsync(() => !_h.Acme.Hits.IsEmpty, () => "the request never reached its upstream");
        var missingPath = Http2Raw.Block((":method", "GET"), (":scheme", "https"), (":authority", "acme.test"));
        await agent.HeadersAsync(3, missingPath);
        var first = await agent.ReadUntilAsync(f => f.Type == Http2Raw.GoAway);
        Assert.Contains(first, f => f.Type == Http2Raw.RstStream && f.Stream == 3);
        Assert.Contains(first, f => f.Type == Http2Raw.GoAway && f.ErrorCode() == 0);
        Assert.False(agent.Closed);

        // The agent goes on refusing to stop: its next refused stream ends the connection at once.
        for (var stream = 5; stream <= 41 && !agent.Closed; stream += 2)
        {
            try
            {
                await agent.HeadersAsync(stream, missingPath);
            }
            catch (IOException)
            {
                break;
            }

            await agent.ReadUntilAsync(f => f.Type == Http2Raw.RstStream && f.Stream == stream);
        }

        await agent.ReadUntilAsync(_ => false);
        Assert.True(agent.Closed, "the connection stayed open");
        var records = await _h.AccessRecordsAsync(3);
        Assert.Equal(2, records.Count(r => r.GetProperty("outcome").GetString() == "malformed"));
        Assert.Equal("aborted", Assert.Single(records, r => r.GetProperty("path").GetString() == "/slow").GetProperty("outcome").GetString());
        Assert.Equal(3, records.Count);
    }

    [Theory]
    [InlineData("data")]
    [InlineData("trailers")]
    public async Task BodyEndedShortOfItsContentLength_AfterTheRequestWentOn_OneRecord_Aborted(string endedBy)
    {
        await using var agent = await Http2Raw.ConnectAsync(_h, ProxyHarness.AcmeAgent, "acme.test");
        await agent.HeadersAsync(1, Http2Raw.Block((":method", "POST"), (":scheme", "https"), (":authority", "acme.test"), (":path", "/upload"), ("content-length", "5")), endStream: false);
        await Eventually.UntilAsync(() => !_h.Acme.Hits.IsEmpty, () => "the request never reached its upstream");

        // The server reports this on the same event as a header block missing its path; the request's own record covers it.
        if (endedBy == "data")
        {
            await agent.WriteFrameAsync(Http2Raw.Data, Http2Raw.EndStream, 1, [1, 2]);
        }
        else
        {
            await agent.HeadersAsync(1, Http2Raw.Block(("x-trailer", "t")));
        }

        var frames = await agent.ReadUntilAsync(f => f.Type == Http2Raw.RstStream);

        Assert.Contains(frames, f => f.Type == Http2Raw.RstStream && f.Stream == 1 && f.ErrorCode() == ProtocolError);
        var record = Assert.Single(await _h.AccessRecordsAsync(1));
        Assert.Equal("aborted", record.GetProperty("outcome").GetString());
        Assert.Equal("/upload", record.GetProperty("path").GetString());
        Assert.Equal(0, _h.Metrics.Count("acme", "malformed"));
    }

    private static void AssertMalformedRecord(System.Text.Json.JsonElement record, string? client, string source)
    {
        Assert.Equal("malformed", record.GetProperty("outcome").GetString());
        if (client is null)
        {
            Assert.False(record.TryGetProperty("client", out _));
        }
        else
        {
            Assert.Equal(client, record.GetProperty("client").GetString());
        }

        Assert.Equal(source, record.GetProperty("source").GetString());
        Assert.Equal("", record.GetProperty("method").GetString());
        Assert.Equal("", record.GetProperty("host").GetString());
        Assert.Equal("", record.GetProperty("path").GetString());
        Assert.False(record.TryGetProperty("status", out _));
        Assert.Equal(0, record.GetProperty("bytes_in").GetInt64());
        Assert.False(record.TryGetProperty("upstream", out _));
    }

    private void AssertForwardedNowhere()
    {
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
    }
}
