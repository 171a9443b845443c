using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Gate;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Gate;

/// <summary>
/// A trip's gate and in-flight stages never wait for an agent's socket to close: closing waits for any
/// send or receive in progress on it, and the trip runs at real-time priority. Here a close that does not
/// return until the test lets it must not hold the stage, and must still be asked for, on another thread.
/// </summary>
public sealed class AgentSideCutTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GateStage_EstablishedConnectionWhoseCloseHangs_StageReturnsAndTheCloseIsAskedFor()
    {
        using var components = new ProxyComponents(new StaticPolicyProvider(Policy()), () => new NothingSuspended(), new RecordingMetrics());
        var connection = new HeldConnection(IPAddress.Parse("127.0.1.10"));
        var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var open = components.Gate.OnConnectionAsync(connection, _ => served.Task);
        Assert.Equal(1, components.Gate.ConnectionCount("acme"));

        var stageThread = await OnThreadOfItsOwn(() => components.Gate.Enforce("acme")).WaitAsync(Patience);

        var closeThread = await connection.AbortedOn.Task.WaitAsync(Patience);
        Assert.NotEqual(stageThread, closeThread);
        connection.Release.Set();
        served.SetResult();
        await open.WaitAsync(Patience);
        Assert.Equal(0, components.Gate.ConnectionCount("acme"));
    }

    [Fact]
    public async Task InFlightStage_AgentWhoseAbortHangs_ForwardingCancelledWhenTheStageReturns()
    {
        var inFlight = new InFlightRequests();
        var lifetime = new HeldLifetime();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpRequestLifetimeFeature>(lifetime);
        using var request = new InFlightRequest(context);
        using var other = new InFlightRequest(new DefaultHttpContext());
        inFlight.Add("acme", request);
        inFlight.Add("globex", other);

        var stageThread = await OnThreadOfItsOwn(() => inFlight.Enforce("acme")).WaitAsync(Patience);

        Assert.True(request.WasCut);
        Assert.True(request.Token.IsCancellationRequested);
        Assert.False(other.WasCut);
        Assert.False(other.Token.IsCancellationRequested);
        var abortThread = await lifetime.AbortedOn.Task.WaitAsync(Patience);
        Assert.NotEqual(stageThread, abortThread);
        lifetime.Release.Set();
    }

    [Fact]
    public async Task AgentAbortUnderWay_RequestEnds_TheEndWaitsForTheAbortAndNoneStartsAfter()
    {
        // The server recycles a request's context as soon as the request ends (here, Uninitialize as Kestrel
        // does): an abort a trip queued that reaches the context after that throws on the thread pool, which
        // ends the process. So the request's end must wait for an abort under way.
        var lifetime = new HeldLifetime();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpRequestLifetimeFeature>(lifetime);
        var request = new InFlightRequest(context);
        request.Cut();
        var aborting = Task.Factory.StartNew(request.AbortAgent, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await lifetime.AbortedOn.Task.WaitAsync(Patience);

        var ending = Task.Factory.StartNew(
            () =>
            {
                request.Dispose();
                context.Uninitialize();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        Assert.NotSame(ending, await Task.WhenAny(ending, Task.Delay(TimeSpan.FromMilliseconds(500))));

        lifetime.Release.Set();
        await aborting.WaitAsync(Patience);
        await ending.WaitAsync(Patience);

        // Ended: a later abort (another queued one, or the request's own) leaves the recycled context alone;
        // aborting it would throw, as the context no longer has features.
        Assert.Null(Record.Exception(request.AbortAgent));
        Assert.ThrowsAny<Exception>(context.Abort);
    }

    [Fact]
    public void AgentGoesAway_ForwardingCancelled_NotACut()
    {
        using var agent = new CancellationTokenSource();
        var context = new DefaultHttpContext { RequestAborted = agent.Token };
        using var request = new InFlightRequest(context);
        Assert.False(request.Token.IsCancellationRequested);

        agent.Cancel();

        Assert.True(request.Token.IsCancellationRequested);
        Assert.False(request.WasCut);
    }

    [Fact]
    public void AgentGoneBeforeTheRequestIsTracked_ForwardingCancelledFromTheStart()
    {
        using var agent = new CancellationTokenSource();
        agent.Cancel();
        using var request = new InFlightRequest(new DefaultHttpContext { RequestAborted = agent.Token });

        Assert.True(request.Token.IsCancellationRequested);
    }

    [Fact]
    public void RequestEnded_AgentGoesAwayOrATripCutsIt_NothingThrows()
    {
        using var agent = new CancellationTokenSource();
        var request = new InFlightRequest(new DefaultHttpContext { RequestAborted = agent.Token });
        request.Dispose();

        Assert.Null(Record.Exception(agent.Cancel));
        Assert.Null(Record.Exception(request.Cut));
    }

    // The stage runs as a trip runs it, on a thread that is not the pool's: whatever it queues cannot run
    // on that thread, and a stage that waited for the held close would never finish.
    private static Task<int> OnThreadOfItsOwn(Action stage)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            stage();
            done.SetResult(Environment.CurrentManagedThreadId);
        })
        { IsBackground = true };
        thread.Start();
        return done.Task;
    }

    private static SitePolicy Policy() => new()
    {
        Site = new SiteInfo { Id = "test", Name = "Test site" },
        Controller = new ControllerSettings { Proxy = new ProxySettings { Listen = ["127.0.0.1:0"] } },
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Restore = new RestoreSettings(),
        Clients = [ProxyHarness.Client("acme", "127.0.1.0/24", [new Upstream { Name = "crm", Hosts = ["acme.test"], Destinations = [new Uri("https://127.0.0.1:1/")] }])],
    };

    private sealed class NothingSuspended : ISuspensionView
    {
        public SuspensionState Current => SuspensionState.Empty;
    }

    /// <summary>A connection whose close does not return until <see cref="Release"/> is set.</summary>
    private sealed class HeldConnection(IPAddress address) : ConnectionContext
    {
        public ManualResetEventSlim Release { get; } = new();

        public TaskCompletionSource<int> AbortedOn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override string ConnectionId { get; set; } = "held";

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override IDuplexPipe Transport { get; set; } = new DuplexPipe(new Pipe().Reader, new Pipe().Writer);

        public override EndPoint? RemoteEndPoint { get; set; } = new IPEndPoint(address, 40000);

        public override void Abort(ConnectionAbortedException abortReason)
        {
            AbortedOn.TrySetResult(Environment.CurrentManagedThreadId);
            Release.Wait();
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>A request whose abort does not return until <see cref="Release"/> is set.</summary>
    private sealed class HeldLifetime : IHttpRequestLifetimeFeature
    {
        public ManualResetEventSlim Release { get; } = new();

        public TaskCompletionSource<int> AbortedOn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken RequestAborted { get; set; }

        public void Abort()
        {
            AbortedOn.TrySetResult(Environment.CurrentManagedThreadId);
            Release.Wait();
        }
    }
}
