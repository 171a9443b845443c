using System.Net;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Policy;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// An upstream that speaks HTTP/1.0 and closes each connection after its response, under parallel
/// requests: no request may land on a connection the upstream has closed (a 502 for the agent).
/// </summary>
public sealed class Http10UpstreamTests : IAsyncLifetime
{
    private const int Requests = 400;
    private const int Parallel = 16;
    private Http10Server? _legacy;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ProxyHarness.StartAsync(extraAcmeUpstreams: h =>
        {
            _legacy = Http10Server.Start(h.Pki.IssueServer("legacy", "localhost").Certificate);
            return [new Upstream { Name = "legacy", Hosts = ["legacy.test"], Destinations = [_legacy.Address] }];
        });
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        if (_legacy is not null)
        {
            await _legacy.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task ParallelRequests_AllAnswered_EachOnAConnectionOfItsOwn(string agentVersion)
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, Version.Parse(agentVersion));

        // The first answer tells the proxy what the upstream does with its connections.
        using (var first = await agent.GetAsync(new Uri("https://legacy.test/first")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var warning = Assert.Single(_h.Logs.Entries, e => e.Event.Id == ProxyEventIds.UpstreamHttp10);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(_legacy!.Address.ToString(), warning.Message, StringComparison.Ordinal);
        var statuses = new HttpStatusCode[Requests];

        await System.Threading.Tasks.Parallel.ForEachAsync(
            Enumerable.Range(0, Requests),
            new ParallelOptions { MaxDegreeOfParallelism = Parallel },
            async (i, cancellationToken) =>
            {
                using var response = await agent.GetAsync(new Uri($"https://legacy.test/r{i}"), cancellationToken);
                statuses[i] = response.StatusCode;
            });

        Assert.Equal(Requests, statuses.Count(s => s == HttpStatusCode.OK));
        var heads = _legacy.Requests.Skip(1).ToArray();
        Assert.Equal(Requests, heads.Length);
        Assert.All(heads, head => Assert.Contains("\r\nConnection: close\r\n", head, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(0, _h.Metrics.Count("acme", ProxyOutcomes.UpstreamError));
        Assert.Single(_h.Logs.Entries, e => e.Event.Id == ProxyEventIds.UpstreamHttp10);
    }

    [Fact]
    public async Task Http11Upstream_ConnectionsStillReused()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);

        for (var i = 0; i < 5; i++)
        {
            using var legacy = await agent.GetAsync(new Uri("https://legacy.test/"));
            Assert.Equal(HttpStatusCode.OK, legacy.StatusCode);
            using var response = await agent.GetAsync(new Uri("https://acme.test/"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The HTTP/1.0 upstream's answers change nothing for the other: its requests keep one connection, unclosed.
        var hits = _h.Acme.Hits.ToArray();
        Assert.Equal(5, hits.Length);
        Assert.Single(hits.Select(h => h.ConnectionId).Distinct());
        Assert.All(hits, h => Assert.False(h.Headers.ContainsKey("Connection")));
        Assert.Equal(5, _legacy!.Requests.Count);
    }
}

public sealed class Http10UpstreamsTests
{
    private const string Destination = "https://10.0.0.1:8443/";

    [Theory]
    [InlineData("1.0", null, true)]
    [InlineData("1.0", "close", true)]
    [InlineData("1.0", "keep-alive", false)]
    [InlineData("1.0", "Keep-Alive", false)]
    [InlineData("1.1", null, false)]
    [InlineData("2.0", null, false)]
    public void Observe_ListsOnlyUpstreamsThatCloseAfterEachResponse(string version, string? connection, bool listed)
    {
        var upstreams = new Forwarding.Http10Upstreams();
        var learned = new List<string>();
        upstreams.Learned += learned.Add;

        upstreams.Observe(Destination, "cluster-a", Response(version, connection));

        Assert.Equal(listed, upstreams.Closes(Destination));
        Assert.Equal(listed, upstreams.Any);
        Assert.Equal(listed ? ["cluster-a"] : [], learned);
        Assert.False(upstreams.Closes("https://10.0.0.2:8443/"));
    }

    [Fact]
    public void Observe_UpstreamThatKeepsConnectionsAgain_TakenOffTheListNoSoonerThanTheMinimum()
    {
        var time = new SteppedTime();
        var upstreams = new Forwarding.Http10Upstreams(time: time);
        var learned = new List<string>();
        upstreams.Learned += learned.Add;

        upstreams.Observe(Destination, "cluster-a", Response("1.0", null));
        upstreams.Observe(Destination, "cluster-a", Response("1.0", null));
        Assert.Equal(["cluster-a"], learned);

        // Answers that alternate: listed still, and nothing replaced or logged again.
        time.Advance(Forwarding.Http10Upstreams.MinimumListing - TimeSpan.FromSeconds(1));
        upstreams.Observe(Destination, "cluster-a", Response("1.1", null));
        upstreams.Observe(Destination, "cluster-a", Response("1.0", null));
        Assert.True(upstreams.Closes(Destination));
        Assert.Equal(["cluster-a"], learned);

        time.Advance(TimeSpan.FromSeconds(1));
        upstreams.Observe(Destination, "cluster-a", Response("1.1", null));
        Assert.False(upstreams.Closes(Destination));
        Assert.False(upstreams.Any);

        upstreams.Observe(Destination, "cluster-a", Response("1.0", null));
        Assert.True(upstreams.Closes(Destination));
        Assert.Equal(["cluster-a", "cluster-a"], learned);
    }

    private sealed class SteppedTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    private static HttpResponseMessage Response(string version, string? connection)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = Version.Parse(version) };
        if (connection is not null)
        {
            response.Headers.Connection.Add(connection);
        }

        return response;
    }
}
