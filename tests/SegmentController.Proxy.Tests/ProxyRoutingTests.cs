using System.Net;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Proxy.Tests;

public sealed class ProxyRoutingTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 0)]
    public async Task AgentOwnClient_Forwarded(int major, int minor)
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, new Version(major, minor));

        var response = await agent.GetAsync(new Uri("https://acme.test/orders?id=7"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("upstream:acme", await response.Content.ReadAsStringAsync());
        Assert.Single(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
        Assert.Equal(new Version(major, minor), response.Version);
    }

    [Fact]
    public async Task AgentOtherClientsHost_403AndCriticalFinding()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        var response = await agent.GetAsync(new Uri("https://globex.test/customers"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Globex.Hits);
        var finding = Assert.Single(_h.Findings.Findings);
        Assert.Equal(RuleIds.CrossClientRequest, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme"], finding.Clients);
        Assert.Equal("globex", finding.Evidence["target_client"]);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.CrossClient));
    }

    [Fact]
    public async Task UnknownSource_403AndFinding()
    {
        using var agent = _h.Agent(ProxyHarness.UnknownAgent);

        var response = await agent.GetAsync(new Uri("https://acme.test/"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        Assert.Equal(RuleIds.UnknownSource, Assert.Single(_h.Findings.Findings).Rule);
        Assert.Equal(1, _h.Metrics.Count(ProxyOutcomes.UnknownClient, ProxyOutcomes.UnknownSource));
    }

    [Fact]
    public async Task EveryRequest_AccessRecordWithoutQuery()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using var content = new StringContent("hello body");

        // Each record's time must fall between these two readings of the clock the proxy uses (not a speed bound).
        var before = DateTimeOffset.UtcNow;
        var response = await agent.PostAsync(new Uri("https://acme.test/orders/new?secret=1"), content);
        await agent.GetAsync(new Uri("https://globex.test/x"));
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var records = await _h.AccessRecordsAsync(2);
        Assert.Equal(2, records.Count);
        Assert.Multiple(
            () => Assert.Equal("POST", records[0].GetProperty("method").GetString()),
            () => Assert.Equal("GET", records[1].GetProperty("method").GetString()),
            () => Assert.All(records, r => Assert.InRange(r.GetProperty("time").GetDateTimeOffset(), before, after)),
            () => Assert.True(records[0].GetProperty("time").GetDateTimeOffset() <= records[1].GetProperty("time").GetDateTimeOffset(), "the second request's record is timed before the first's"),
            () => Assert.All(records, r => Assert.True(r.GetProperty("duration_seconds").GetDouble() > 0, $"duration_seconds is not positive: {r}")));
        Assert.All(records, r => Assert.Equal("acme", r.GetProperty("client").GetString()));
        Assert.Equal("/orders/new", records[0].GetProperty("path").GetString());
        Assert.DoesNotContain("secret", records[0].ToString(), StringComparison.Ordinal);
        Assert.Equal(10, records[0].GetProperty("bytes_in").GetInt64());
        Assert.Equal("upstream:acme".Length, records[0].GetProperty("bytes_out").GetInt64());
        Assert.Equal(0, records[1].GetProperty("bytes_in").GetInt64());
        Assert.Equal(0, records[1].GetProperty("bytes_out").GetInt64());
        Assert.Equal("forwarded", records[0].GetProperty("outcome").GetString());
        Assert.Equal(200, records[0].GetProperty("status").GetInt32());
        Assert.Equal("127.0.1.10", records[0].GetProperty("source").GetString());
        Assert.StartsWith("https://127.0.0.1:", records[0].GetProperty("upstream").GetString(), StringComparison.Ordinal);
        Assert.Equal("cross-client", records[1].GetProperty("outcome").GetString());
        Assert.Equal(403, records[1].GetProperty("status").GetInt32());

        // The request for globex's system concerns globex too: kept under both keys, with each client's view beside it.
        Assert.Equal(["acme", "acme,globex"], StoreFile.Read(_h.StorePath, new RecordQuery { Type = RecordTypes.Access }).Select(r => r.Clients).Order(StringComparer.Ordinal));
        var views = (await _h.RecordsAsync(RecordTypes.AccessView, 2)).ToDictionary(r => r.Clients!, r => JsonDocument.Parse(r.Payload!.Value).RootElement.Clone());
        Assert.Equal(["acme", "globex"], views.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("another client", Single(views["acme"]).GetProperty("route_client").GetString());
        Assert.Equal("another client", Single(views["globex"]).GetProperty("client").GetString());
        Assert.Equal("globex.test", Single(views["globex"]).GetProperty("host").GetString());
    }

    private static JsonElement Single(JsonElement payload) => payload.ValueKind == JsonValueKind.Array ? Assert.Single(payload.EnumerateArray()) : payload;

    [Fact]
    public async Task UnroutedHost_404NothingForwarded()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        var response = await agent.GetAsync(new Uri("https://unknown.test/"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(_h.Acme.Hits);
        Assert.Empty(_h.Globex.Hits);
    }
}
