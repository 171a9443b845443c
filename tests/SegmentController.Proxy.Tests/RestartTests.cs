using System.Net;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class RestartTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-restart-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TrippedThenRestarted_StillSuspended_NothingForwarded()
    {
        await using (var first = await ProxyHarness.StartAsync(_dir))
        {
            await first.Engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "crash test" }, CancellationToken.None);

            // No orderly shutdown of the engine's records: only the state file carries over.
        }

        await using var second = await ProxyHarness.StartAsync(_dir);
        using var acme = second.Agent(ProxyHarness.AcmeAgent);
        using var globex = second.Agent(ProxyHarness.GlobexAgent);

        await ProxyHarness.AssertDroppedAsync(() => acme.GetAsync(new Uri("https://acme.test/")));
        Assert.Equal(HttpStatusCode.OK, (await globex.GetAsync(new Uri("https://globex.test/"))).StatusCode);
        Assert.Empty(second.Acme.Hits);
    }

    [Fact]
    public async Task StateFileCorrupt_EveryClientSuspended()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "state"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "state", "suspension.state"), "{garbage");

        await using var h = await ProxyHarness.StartAsync(_dir);
        using var acme = h.Agent(ProxyHarness.AcmeAgent);
        using var globex = h.Agent(ProxyHarness.GlobexAgent);

        await ProxyHarness.AssertDroppedAsync(() => acme.GetAsync(new Uri("https://acme.test/")));
        await ProxyHarness.AssertDroppedAsync(() => globex.GetAsync(new Uri("https://globex.test/")));
        Assert.Empty(h.Acme.Hits);
        Assert.Empty(h.Globex.Hits);
    }
}
