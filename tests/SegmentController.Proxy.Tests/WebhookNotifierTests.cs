using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Notifications;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class WebhookNotifierTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-webhook-").FullName;
    private readonly string _secretVariable = "SEGCTL_TEST_WEBHOOK_" + Guid.NewGuid().ToString("N");
    private readonly ConcurrentQueue<(string Body, string Signature)> _received = new();
    private string _caPath = "";
    private WebApplication _receiver = null!;
    private int _port;
    private int _flakyCalls;
    private int _stallingCalls;
    private int _refusedCalls;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_secretVariable, "s3cret");
        using var pki = new TestPki(_dir);
        _caPath = pki.CaPemPath;
        var (certificate, _, _) = pki.IssueServer("hooks", "localhost");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.UseHttps(h =>
        {
            h.ServerCertificate = certificate;
            h.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        })));
        _receiver = builder.Build();
        _receiver.MapPost("/hook", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            _received.Enqueue((await reader.ReadToEndAsync(), context.Request.Headers["X-Segctl-Signature"].ToString()));
        });
        _receiver.MapPost("/flaky", async context =>
        {
            // Down for the first delivery (as a receiver mid-restart), up for the next.
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref _flakyCalls) == 1)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }

            _received.Enqueue((body, context.Request.Headers["X-Segctl-Signature"].ToString()));
        });
        _receiver.MapPost("/stalls", async context =>
        {
            // Stalls on the first delivery until the caller gives up on it (a hung worker), answers the next.
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref _stallingCalls) == 1)
            {
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                return;
            }

            _received.Enqueue((body, context.Request.Headers["X-Segctl-Signature"].ToString()));
        });
        _receiver.MapPost("/refuses", context =>
        {
            Interlocked.Increment(ref _refusedCalls);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        });
        await _receiver.StartAsync();
        _port = new Uri(_receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        await _receiver.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private StaticPolicyProvider Policy(params Uri[] hooks) => new(new SitePolicy
    {
        Site = new SiteInfo { Id = "hooks", Name = "hooks" },
        Controller = new ControllerSettings { Proxy = new ProxySettings { UpstreamCaFile = _caPath } },
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Clients =
        [
            new ClientDefinition
            {
                Id = "acme",
                Name = "acme",
                ContractEnd = new DateOnly(2030, 1, 1),
                Segments = [],
                Kill = new KillActions
                {
                    ShutPorts = false,
                    Webhooks = hooks.Select(h => new Webhook { Url = h, Secret = new SecretReference { Source = SecretSource.Environment, Name = _secretVariable } }).ToArray(),
                },
            },
        ],
    });

    /// <summary>Trips acme with its one webhook at <paramref name="hook"/> on the receiver; the suspension once every stage ran.</summary>
    private async Task<SuspensionRecord> TripWithHookAsync(string hook, string reason)
    {
        var policy = Policy(new Uri($"https://127.0.0.1:{_port}/{hook}"));
        using var notifier = new WebhookNotifier(policy);
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, $"{hook}.state")), policy, [], [], [notifier], [], TimeProvider.System);
        return await (await engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = reason }, CancellationToken.None)).Completion;
    }

    [Fact]
    public async Task Trip_WebhookCalledWithSignedBody()
    {
        var final = await TripWithHookAsync("hook", "hook test");

        var (body, signature) = Assert.Single(_received);
        Assert.Contains("\"event\":\"suspended\"", body, StringComparison.Ordinal);
        Assert.Contains("\"client\":\"acme\"", body, StringComparison.Ordinal);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData("s3cret"u8, Encoding.UTF8.GetBytes(body)));
        Assert.Equal(expected, signature);
        Assert.True(final.Stages.Single(s => s.Stage == SuspensionStage.Webhooks).Succeeded);
    }

    [Fact]
    public async Task WebhookUnreachable_StageFailsSuspensionStands()
    {
        var deadPort = FreePort.Tcp();
        var policy = Policy(new Uri($"https://127.0.0.1:{deadPort}/hook"));
        using var notifier = new WebhookNotifier(policy);
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "s2.state")), policy, [], [], [notifier], [], TimeProvider.System);

        var final = await (await engine.TripAsync(new TripRequest { Scope = "acme", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "hook test" }, CancellationToken.None)).Completion;

        var stage = final.Stages.Single(s => s.Stage == SuspensionStage.Webhooks);
        Assert.False(stage.Succeeded);
        Assert.Contains("acme webhook", stage.Detail, StringComparison.Ordinal);
        Assert.True(engine.IsSuspended("acme"));
    }

    [Fact]
    public async Task ReceiverBrieflyDown_DeliveryRetriedAndStageSucceeds()
    {
        var final = await TripWithHookAsync("flaky", "retry test");

        Assert.Equal(2, Volatile.Read(ref _flakyCalls));
        var (body, _) = Assert.Single(_received);
        Assert.Contains("\"event\":\"suspended\"", body, StringComparison.Ordinal);
        Assert.True(final.Stages.Single(s => s.Stage == SuspensionStage.Webhooks).Succeeded);
    }

    [Fact]
    public async Task ReceiverStallsOnce_TimedOutDeliveryRetriedAndStageSucceeds()
    {
        var final = await TripWithHookAsync("stalls", "stall test");

        Assert.Equal(2, Volatile.Read(ref _stallingCalls));
        var (body, _) = Assert.Single(_received);
        Assert.Contains("\"event\":\"suspended\"", body, StringComparison.Ordinal);
        var stage = final.Stages.Single(s => s.Stage == SuspensionStage.Webhooks);
        Assert.True(stage.Succeeded, stage.Detail);
    }

    [Fact]
    public async Task ReceiverRefuses_NotRetriedStageFails()
    {
        var final = await TripWithHookAsync("refuses", "refused test");

        Assert.Equal(1, Volatile.Read(ref _refusedCalls));
        var stage = final.Stages.Single(s => s.Stage == SuspensionStage.Webhooks);
        Assert.False(stage.Succeeded);
        Assert.Contains("403", stage.Detail, StringComparison.Ordinal);
    }
    [Fact]
    public async Task TripByAFindingConcerningTwoClients_EachClientsHookNamesNothingOfTheOther()
    {
        var hook = new Uri($"https://127.0.0.1:{_port}/hook");
        var secret = new SecretReference { Source = SecretSource.Environment, Name = _secretVariable };
        var policy = new StaticPolicyProvider(Policy(hook).Current with
        {
            Clients =
            [
                Client("acme", "Acme Insurance", "10.1.0.0/24", 110, new Webhook { Url = hook, Secret = secret }),
                Client("globex", "Globex Telecom", "10.2.0.0/24", 120, null),
            ],
        });
        using var notifier = new WebhookNotifier(policy);
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(_dir, "s5.state")), policy, [], [], [notifier], [], TimeProvider.System);

        // What the finding consumer trips acme with when capture sees acme's agent reach globex's file server.
        var final = await (await engine.TripAsync(
            new TripRequest
            {
                Scope = "acme",
                Trigger = SuspensionTrigger.Finding,
                Actor = "capture",
                Reason = "Traffic between clients (acme, globex): tcp 10.1.0.5:49152 → 10.2.0.9:445 on VLAN 110/120",
                Rule = "cross-client-flow",
            },
            CancellationToken.None)).Completion;

        Assert.True(final.Stages.Single(s => s.Stage == SuspensionStage.Webhooks).Succeeded);
        var (body, _) = Assert.Single(_received);
        foreach (var other in new[] { "globex", "Globex", "10.2.0.9", "/120" })
        {
            Assert.DoesNotContain(other, body, StringComparison.Ordinal);
        }

        Assert.Contains("10.1.0.5", body, StringComparison.Ordinal);
        Assert.Contains("\"client\":\"acme\"", body, StringComparison.Ordinal);
    }

    private static ClientDefinition Client(string id, string name, string subnet, int vlan, Webhook? hook) => new()
    {
        Id = id,
        Name = name,
        ContractEnd = new DateOnly(2030, 1, 1),
        Segments = [new Segment { Name = "agents", Vlans = [vlan], Subnets = [System.Net.IPNetwork.Parse(subnet)] }],
        Kill = new KillActions { ShutPorts = false, Webhooks = hook is null ? [] : [hook] },
    };
}
