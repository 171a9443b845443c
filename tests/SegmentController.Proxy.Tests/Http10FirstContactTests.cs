using System.Net;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// First contact with an upstream that answers in HTTP/1.0 and closes each connection: a request that
/// was already waiting for a connection of the cluster's pool when the first answer came back is given
/// the answered connection, which the upstream closes without reading it. Staged to happen every time
/// (<see cref="Http10Server.FirstContactRace"/>).
/// </summary>
public sealed class Http10FirstContactTests : IAsyncLifetime
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Http10Server? _legacy;
    private Http10Server? _failing;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ProxyHarness.StartAsync(extraAcmeUpstreams: h =>
        {
            _legacy = Http10Server.Start(h.Pki.IssueServer("legacy", "localhost").Certificate, new Http10Server.FirstContactRace { Release = _release.Task });
            _failing = Http10Server.Start(h.Pki.IssueServer("failing", "localhost").Certificate, mute: true);
            return
            [
                new Upstream { Name = "legacy", Hosts = ["legacy.test"], Destinations = [_legacy.Address] },
                new Upstream { Name = "failing", Hosts = ["failing.test"], Destinations = [_failing.Address] },
            ];
        });
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _h.DisposeAsync();
        if (_legacy is not null)
        {
            await _legacy.DisposeAsync();
        }

        if (_failing is not null)
        {
            await _failing.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public async Task SafeRequestGivenTheConnectionTheUpstreamCloses_SentOnceMoreOnAConnectionOfItsOwn(string method)
    {
        _release.TrySetResult();
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        var (first, second) = await SendTwoAsync(agent, () => new HttpRequestMessage(new HttpMethod(method), "https://legacy.test/second"));

        using (var answered = await first)
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        using (var answered = await second)
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        // The copy sent on the answered connection was never read; the one answered went on a connection of its own, asking it to close.
        var heads = _legacy!.Requests.ToArray();
        Assert.Equal(2, heads.Length);
        Assert.StartsWith($"{method} /second ", heads[1], StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", heads[1], StringComparison.OrdinalIgnoreCase);

        // Counted once the agent has had the whole response.
        await Eventually.UntilAsync(() => _h.Metrics.Count("acme", ProxyOutcomes.Forwarded) >= 2, () => "the second request never counted as forwarded");
        Assert.Equal(2, _h.Metrics.Count("acme", ProxyOutcomes.Forwarded));
        Assert.Equal(0, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
    }

    [Theory]
    [InlineData("POST", true)]
    [InlineData("GET", true)]
    [InlineData("DELETE", false)]
    public async Task RequestWithABodyOrAMethodThatChangesThings_NotSentAgain(string method, bool body)
    {
        _release.TrySetResult();
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        var (first, second) = await SendTwoAsync(agent, () => new HttpRequestMessage(new HttpMethod(method), "https://legacy.test/second")
        {
            Content = body ? new StringContent("{\"case\":7}") : null,
        });

        (await first).Dispose();
        using (var answered = await second)
        {
            Assert.Equal(HttpStatusCode.BadGateway, answered.StatusCode);
        }

        Assert.Single(_legacy!.Requests);
        await Eventually.UntilAsync(() => _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError) >= 1, () => "the second request never counted as an upstream error");
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
    }

    [Fact]
    public async Task TripWhileTheRequestWaitsOnTheAnsweredConnection_NotSentAgain()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        var second = await SecondOnTheAnsweredConnectionAsync(agent);
        await _h.Engine.TripAsync(
            new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test trip" },
            CancellationToken.None);
        _release.TrySetResult();

        await AssertNeverReadAsync(second);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.Forwarded));
    }

    [Fact]
    public async Task ReloadGivesTheUpstreamToAnotherClientWhileTheRequestWaits_NotSentAgain()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        var second = await SecondOnTheAnsweredConnectionAsync(agent);

        // The upstream is globex's from now on: what acme's agent sent before must not reach it, now or sent again.
        var current = _h.Policy.Current;
        var legacy = current.Clients.Single(c => c.Id == "acme").Upstreams.Single(u => u.Name == "legacy");
        _h.Policy.Set(current with
        {
            Clients = current.Clients.Select(c => c.Id switch
            {
                "acme" => c with { Upstreams = c.Upstreams.Where(u => u.Name != "legacy").ToArray() },
                "globex" => c with { Upstreams = [.. c.Upstreams, legacy] },
                _ => c,
            }).ToArray(),
        });
        Assert.NotSame(current, _h.Components.Snapshots.Current.Policy);
        _release.TrySetResult();

        await AssertNeverReadAsync(second);
    }

    [Fact]
    public async Task UpstreamThatFailsOnFirstContact_RequestSentOnce()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        // Read, then its connection reset unanswered, with no pool replaced meanwhile: not the case the proxy sends again.
        using (var answered = await agent.GetAsync(new Uri("https://failing.test/once")))
        {
            Assert.Equal(HttpStatusCode.BadGateway, answered.StatusCode);
        }

        // Read once. (The runtime may still open a connection it never sends on: not counted.)
        Assert.Single(_failing!.Requests);
    }

    // A GET sent second, once it is on the answered connection (its bytes arrived there) and the upstream holds it unanswered.
    private async Task<Task<HttpResponseMessage>> SecondOnTheAnsweredConnectionAsync(HttpClient agent)
    {
        var (first, second) = await SendTwoAsync(agent, () => new HttpRequestMessage(HttpMethod.Get, "https://legacy.test/second"));
        (await first).Dispose();
        await _legacy!.NextRequestArrived.WaitAsync(TimeSpan.FromSeconds(30));
        return second;
    }

    // The second request ends unanswered by the upstream (dropped, or answered by the proxy), which read the first
    // request alone: a copy sent again would have been read before the second request ended.
    private async Task AssertNeverReadAsync(Task<HttpResponseMessage> second)
    {
        var outcome = await Record.ExceptionAsync(async () =>
        {
            using var answered = await second;
            Assert.NotEqual(HttpStatusCode.OK, answered.StatusCode);
        });
        Assert.True(outcome is null or HttpRequestException or IOException, $"unexpected {outcome?.GetType().Name}: {outcome?.Message}");
        Assert.Single(_legacy!.Requests);
    }

    // The first request, and once it has reached the upstream, the second: it waits for a connection while the first is answered.
    private async Task<(Task<HttpResponseMessage> First, Task<HttpResponseMessage> Second)> SendTwoAsync(HttpClient agent, Func<HttpRequestMessage> second)
    {
        var first = agent.GetAsync(new Uri("https://legacy.test/first"));
        await Eventually.UntilAsync(() => _legacy!.Requests.Count == 1, () => "the first request never reached the upstream");
        return (first, agent.SendAsync(second()));
    }
}
