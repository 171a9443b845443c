using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Metrics;
using SegmentController.Snmp;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Tests.Cli;

namespace SegmentController.Tests.Snmp;

public sealed class SnmpInventoryServiceTests(SnmpCliAgents agents) : IClassFixture<SnmpCliAgents>
{
    private sealed class RecordingSink : IFindingSink
    {
        private readonly List<Finding> _findings = [];

        public IReadOnlyList<Finding> Findings
        {
            get
            {
                lock (_findings)
                {
                    return [.. _findings];
                }
            }
        }

        public ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            lock (_findings)
            {
                _findings.AddRange(findings);
            }

            return ValueTask.CompletedTask;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task PollsEverySwitch_PublishesFindingsOnceAndExportsMetrics()
    {
        var silentPort = FreePort.Udp();
        var policy = TestPolicies.Site(
            TestPolicies.V2cSwitch("qbridge-sw1", agents.Sim.Port, "qbridge", SwitchProfile.QBridge) with { PollInterval = TimeSpan.FromMilliseconds(300) },
            TestPolicies.V2cSwitch("cisco-sw2", silentPort, "cisco", SwitchProfile.Cisco) with { Timeout = TimeSpan.FromMilliseconds(200), Retries = 0, PollInterval = TimeSpan.FromMilliseconds(300) });
        using var service = Create(policy, out var sink, out var metrics, out var health);

        await service.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => sink.Findings.Any(f => f.Rule == RuleIds.PortVlanMismatch) && sink.Findings.Any(f => f.Rule == RuleIds.SwitchUnreachable));
            await Task.Delay(1500);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        Assert.Equal(1, metrics.SwitchReachable.WithLabels("qbridge-sw1").Value);
        Assert.Equal(0, metrics.SwitchReachable.WithLabels("cisco-sw2").Value);
        Assert.True(metrics.SnmpPollDuration.WithLabels("qbridge-sw1").Count >= 2);
        Assert.Equal(0, metrics.VerificationHealthy.WithLabels(SnmpInventoryService.HealthSource).Value);
        Assert.False(health.Snapshot()[SnmpInventoryService.HealthSource].Healthy);
        // Several polls ran, but a persisting violation is published once; lost verification that goes on
        // is published once as new, then as updates of its one episode.
        Assert.Single(sink.Findings, f => f.Rule == RuleIds.PortVlanMismatch);
        var unreachable = Assert.Single(sink.Findings, f => f.Rule == RuleIds.SwitchUnreachable && !f.Update);
        Assert.NotNull(unreachable.Key);
        var updates = sink.Findings.Where(f => f.Rule == RuleIds.SwitchUnreachable && f.Update).ToArray();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(unreachable.Key, u.Key));
        Assert.All(updates, u => Assert.Equal(unreachable.Clients, u.Clients));
    }

    [Fact]
    public async Task PolicyPortTheSwitchLacks_DriftPublishedOnceNotAtEveryPoll()
    {
        var site = TestPolicies.Site(
            TestPolicies.V2cSwitch("qbridge-sw1", agents.Sim.Port, "qbridge", SwitchProfile.QBridge) with { PollInterval = TimeSpan.FromMilliseconds(300) });
        var alpha = site.Clients[0];
        var segment = alpha.Segments[0];
        var policy = site with
        {
            Clients = [alpha with { Segments = [segment with { Ports = [.. segment.Ports, new PortAssignment { Switch = "qbridge-sw1", Ports = ["ge-0/0/99"] }] }] }, site.Clients[1]],
        };
        using var service = Create(policy, out var sink, out var metrics, out _);

        await service.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => metrics.SnmpPollDuration.WithLabels("qbridge-sw1").Count >= 5);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        // The port is missing at every poll: that is one fact, not a change between polls. One finding
        // (and one store record) until it clears, not one more at every poll.
        var missing = sink.Findings.Where(f => f.Rule == RuleIds.InventoryDrift && Equals(f.Evidence.GetValueOrDefault("port"), "ge-0/0/99")).ToArray();
        Assert.Single(missing);
        Assert.Equal(["alpha"], missing[0].Clients);
    }

    [Fact]
    public async Task SwitchWithInconsistentTables_NotReachable_UnhealthyAndFindingPublished()
    {
        var policy = TestPolicies.Site(
            TestPolicies.V2cSwitch("qbridge-sw1", agents.Sim.Port, "qbridge-dup", SwitchProfile.QBridge) with { PollInterval = TimeSpan.FromMilliseconds(300) });
        using var service = Create(policy, out var sink, out var metrics, out _);

        await service.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => sink.Findings.Any(f => f.Rule == RuleIds.SwitchUnreachable) && metrics.SnmpPollDuration.WithLabels("qbridge-sw1").Count >= 2);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        // The switch answered, but its bridge ports contradict each other: not verified, never clean.
        Assert.Equal(0, metrics.SwitchReachable.WithLabels("qbridge-sw1").Value);
        Assert.Equal(0, metrics.VerificationHealthy.WithLabels(SnmpInventoryService.HealthSource).Value);
        var unreachable = Assert.Single(sink.Findings, f => f.Rule == RuleIds.SwitchUnreachable && !f.Update);
        Assert.Contains("bridge ports 3 and 5 both map to ifIndex 1003", unreachable.Summary, StringComparison.Ordinal);
        Assert.Equal(["alpha", "bravo"], unreachable.Clients);
        Assert.DoesNotContain(sink.Findings, f => f.Rule is not (RuleIds.SwitchUnreachable or RuleIds.InsecureSnmp));
    }

    /// <summary>The polling service over <paramref name="policy"/>, ticking every 50 ms, with what it reports to.</summary>
    private static SnmpInventoryService Create(SitePolicy policy, out RecordingSink sink, out ControllerMetrics metrics, out VerificationHealth health)
    {
        metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        health = new VerificationHealth(metrics, TimeProvider.System, NullLogger<VerificationHealth>.Instance);
        sink = new RecordingSink();
        return new SnmpInventoryService(new PolicyProvider("inline", policy), sink, metrics, health, TimeProvider.System, NullLogger<SnmpInventoryService>.Instance)
        {
            Tick = TimeSpan.FromMilliseconds(50),
        };
    }
}
