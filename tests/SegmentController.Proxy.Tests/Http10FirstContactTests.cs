using System.Net;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// First contact with an upstream that answers in HTTP/1.0 and closes each connection: a request that
/// was already waiting for a connection of the cluster's pool when the first answer came back is given
/// the answered connection, which the upstream closes without reading it. Made to happen every time: the
/// first answer waits until the second request has asked for a connection of its own, whose handshake the
/// upstream holds back meanwhile (<see cref="Http10Server"/>).
/// </summary>
public sealed class Http10FirstContactTests : IAsyncLifetime
{
    private static readonly TimeSpan CloseAfter = TimeSpan.FromMilliseconds(300);
    private Http10Server? _legacy;
    private Http10Server? _failing;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ProxyHarness.StartAsync(extraAcmeUpstreams: h =>
        {
            _legacy = Http10Server.Start(
                h.Pki.IssueServer("legacy", "localhost").Certificate,
                closeAfter: CloseAfter,
                laterHandshakesAfter: TimeSpan.FromMilliseconds(500),
                firstAnswerAfterSecondConnection: true);
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

        // The copy sent on the closed connection was never read; the one the upstream answered went on a connection of its own, asking it to close.
        var heads = _legacy!.Requests.ToArray();
        Assert.Equal(2, heads.Length);
        Assert.StartsWith($"{method} /second ", heads[1], StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", heads[1], StringComparison.OrdinalIgnoreCase);
        // Counted once the agent has had the whole response.
        await Eventually.UntilAsync(() => _h.Metrics.Count("acme", ProxyOutcomes.Forwarded) >= 2, () => "the second request never counted as forwarded");
        Assert.Equal(2, _h.Metrics.Count("acme", ProxyOutcomes.Forwarded));
        Assert.Equal(0, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
    }

    [Fact]
    public async Task RequestWithABody_NotSentAgain()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        var (first, second) = await SendTwoAsync(agent, () => new HttpRequestMessage(HttpMethod.Post, "https://legacy.test/second") { Content = new StringContent("{\"case\":7}") });

        (await first).Dispose();
        using (var answered = await second)
        {
            Assert.Equal(HttpStatusCode.BadGateway, answered.StatusCode);
        }

        Assert.Single(_legacy!.Requests);
        Assert.Equal(2, _legacy.Accepted);
        await Eventually.UntilAsync(() => _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError) >= 1, () => "the second request never counted as an upstream error");
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
    }

    [Fact]
    public async Task TripWhileTheRequestWaitsOnTheClosedConnection_NotSentAgain()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        var (first, second) = await SendTwoAsync(agent, () => new HttpRequestMessage(HttpMethod.Get, "https://legacy.test/second"));
        (await first).Dispose();

        // The second request now sits on the answered connection, which the upstream closes unread after a while.
        await _h.Engine.TripAsync(
            new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test trip" },
            CancellationToken.None);

        var outcome = await Record.ExceptionAsync(async () =>
        {
            using var answered = await second;
            Assert.NotEqual(HttpStatusCode.OK, answered.StatusCode);
        });
        Assert.True(outcome is null or HttpRequestException or IOException, $"unexpected {outcome?.GetType().Name}: {outcome?.Message}");

        // Longer than the upstream holds the connection: a copy sent again would have come by now.
        await Task.Delay(CloseAfter * 3);
        Assert.Single(_legacy!.Requests);
        Assert.Equal(2, _legacy.Accepted);
        Assert.Equal(1, _h.Metrics.Count("acme", ProxyOutcomes.Forwarded));
    }

    [Fact]
    public async Task UpstreamThatFailsOnFirstContact_RequestSentOnce()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        // Read, then its connection reset unanswered: not the closed-connection case, so the proxy does not send it again.
        using (var answered = await agent.GetAsync(new Uri("https://failing.test/once")))
        {
            Assert.Equal(HttpStatusCode.BadGateway, answered.StatusCode);
        }

        Assert.Single(_failing!.Requests);
        Assert.Equal(1, _failing.Accepted);
    }

    // The first request, and once it has reached the upstream, the second: it waits for a connection while the first is answered.
    private async Task<(Task<HttpResponseMessage> First, Task<HttpResponseMessage> Second)> SendTwoAsync(HttpClient agent, Func<HttpRequestMessage> second)
    {
        var first = agent.GetAsync(new Uri("https://legacy.test/first"));
        await Eventually.UntilAsync(() => _legacy!.Requests.Count == 1, () => "the first request never reached the upstream");
        return (first, agent.SendAsync(second()));
    }
}
