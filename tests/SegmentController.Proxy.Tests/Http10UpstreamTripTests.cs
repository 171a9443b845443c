using System.Net;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// A trip of a client whose upstream speaks HTTP/1.0 (each request on a connection of its own, opened
/// outside the cluster's usual pool): under load, nothing of the client's reaches that upstream once the
/// trip is acknowledged, as the kernel saw it on the wire.
/// </summary>
public sealed class Http10UpstreamTripTests : IAsyncLifetime
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private Http10Server? _legacy;
    private WireTimestamps? _wire;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ProxyHarness.StartAsync(extraAcmeUpstreams: h =>
        {
            _legacy = Http10Server.Start(h.Pki.IssueServer("legacy", "localhost").Certificate);
            _wire = WireTimestamps.Start(_legacy.Port);
            return [new Upstream { Name = "legacy", Hosts = ["legacy.test"], Destinations = [new Uri($"https://127.0.0.1:{_wire.Port}/")] }];
        });
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        if (_wire is not null)
        {
            await _wire.DisposeAsync();
        }

        if (_legacy is not null)
        {
            await _legacy.DisposeAsync();
        }
    }

    [Fact]
    public async Task TripUnderLoad_NothingReachesTheUpstreamAfterTheAcknowledgement()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        using (var first = await agent.GetAsync(new Uri("https://legacy.test/first")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        Assert.Single(_h.Logs.Entries, e => e.Event.Id == ProxyEventIds.UpstreamHttp10);

        using var stop = new CancellationTokenSource();
        var answered = 0;
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await agent.GetAsync(new Uri($"https://legacy.test/w{w}/{i}"), stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref answered);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
                {
                    // Cut by the trip, or refused after it: the agent keeps trying.
                }
            }
        })).ToArray();

        using (var guard = new CancellationTokenSource(HangGuard))
        {
            while (Volatile.Read(ref answered) < 100)
            {
                await Task.Delay(10, guard.Token);
            }
        }

        var trip = await _h.Engine.TripAsync(
            new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "test trip" },
            CancellationToken.None);
        var acknowledged = DateTimeOffset.UtcNow;
        var answeredAtTrip = Volatile.Read(ref answered);

        // The agents keep sending for a while after the acknowledgement.
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(HangGuard);

        Assert.True(trip.Created);
        Assert.All(trip.Record.Stages, s => Assert.True(s.Succeeded, $"{s.Stage}: {s.Detail}"));
        Assert.InRange(Volatile.Read(ref answered) - answeredAtTrip, 0, 8);
        var wire = _wire!.FromProxy.ToArray();
        Assert.True(wire.Length > 100, $"{wire.Length} segments from the proxy");
        Assert.All(wire, w => Assert.NotNull(w.Kernel));
        var late = wire.Where(w => w.Kernel > acknowledged).ToArray();
        Assert.True(late.Length == 0, $"{late.Sum(l => l.Bytes)} bytes reached the upstream after the acknowledgement ({acknowledged:O}), first at {late.FirstOrDefault().Kernel:O}");
    }
}
