using System.Net;
using SegmentController.Core.Evidence;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Proxy.Tests.Adversarial;

/// <summary>
/// A dual-stack listener (<c>[::]</c>) sees IPv4 agents as IPv4-mapped IPv6 addresses
/// (<c>::ffff:127.0.1.10</c>): they must map to the same client, be gated the same way, and be recorded
/// by the same address as on an IPv4 listener; an IPv6 source in no segment is unknown.
/// </summary>
public sealed class DualStackTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync(listen: "[::]:0");

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task MappedSources_OwnClientOnly_RecordedAsIPv4()
    {
        using var acme = _h.Agent(ProxyHarness.AcmeAgent);
        using var globex = _h.Agent(ProxyHarness.GlobexAgent);
        using var v6 = _h.Agent("::1");

        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync(new Uri("https://acme.test/own"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await globex.GetAsync(new Uri("https://acme.test/cross"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await v6.GetAsync(new Uri("https://acme.test/v6"))).StatusCode);
        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path is "/cross" or "/v6");

        var records = await _h.AccessRecordsAsync(3);
        Assert.Equal(ProxyHarness.AcmeAgent, Assert.Single(records, r => r.GetProperty("path").GetString() == "/own").GetProperty("source").GetString());
        Assert.Equal(ProxyHarness.GlobexAgent, Assert.Single(records, r => r.GetProperty("path").GetString() == "/cross").GetProperty("source").GetString());
        Assert.Equal("::1", Assert.Single(records, r => r.GetProperty("path").GetString() == "/v6").GetProperty("source").GetString());
        Assert.Contains(_h.Findings.Findings, f => f.Evidence.TryGetValue("src", out var src) && Equals(src, ProxyHarness.GlobexAgent));
    }

    [Fact]
    public async Task MappedSource_Suspended_DroppedAtTheGate_RefusalRecordedAsIPv4()
    {
        await _h.Engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test" }, CancellationToken.None);
        using var acme = _h.Agent(ProxyHarness.AcmeAgent);

        await ProxyHarness.AssertDroppedAsync(() => acme.GetAsync(new Uri("https://acme.test/after")));

        Assert.Empty(_h.Acme.Hits);
        await _h.StopAsync();
        var refusal = Assert.Single(
            StoreFile.Read(_h.StorePath, new RecordQuery { Type = RecordTypes.Access, Client = "acme" }).SelectMany(ProxyHarness.Entries),
            r => r.GetProperty("outcome").GetString() == ProxyOutcomes.RefusedAtGate);
        Assert.Equal(ProxyHarness.AcmeAgent, refusal.GetProperty("sources")[0].GetProperty("source").GetString());
    }
}
