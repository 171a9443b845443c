using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Metrics;
using SegmentController.Snmp;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Tests.Cli;
using SegmentController.Tests.Infrastructure;

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

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(condition, () => "condition not reached in time");

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
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
            // However long a poll takes on a busy machine, several ran before the counts are read.
            await WaitUntilAsync(() => metrics.SnmpPollDuration.WithLabels("qbridge-sw1").Count >= 2
                && sink.Findings.Any(f => f.Rule == RuleIds.SwitchUnreachable && f.Update));
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

    [Fact]
    public async Task ReloadTakesAwayTheSwitchThatFailed_HealthFollowsAtOnce_NoSwitchLeft_SourceWithdrawn()
    {
        var silentPort = FreePort.Udp();
        var good = TestPolicies.V2cSwitch("qbridge-sw1", agents.Sim.Port, "qbridge", SwitchProfile.QBridge) with { PollInterval = TimeSpan.FromHours(1) };
        var failing = TestPolicies.V2cSwitch("cisco-sw2", silentPort, "cisco", SwitchProfile.Cisco) with { Timeout = TimeSpan.FromMilliseconds(200), Retries = 0, PollInterval = TimeSpan.FromMilliseconds(300) };
        var site = TestPolicies.Site(good, failing);
        var provider = new SettablePolicyProvider(site);
        using var service = Create(provider, out _, out var metrics, out var health);

        await service.StartAsync(CancellationToken.None);
        try
        {
            // A poll is timed before the health it decides is reported: the health is waited for too.
            await WaitUntilAsync(
                () => metrics.SnmpPollDuration.WithLabels("qbridge-sw1").Count == 1 && metrics.SnmpPollDuration.WithLabels("cisco-sw2").Count >= 1
                    && health.Snapshot()[SnmpInventoryService.HealthSource].Detail == "not verified: cisco-sw2",
                () => $"each switch polled, health not 'not verified: cisco-sw2' but '{health.Snapshot()[SnmpInventoryService.HealthSource].Detail}'");

            // The one switch still in the policy answered its last poll, an hour ago as it were: verified.
            provider.Set(site with { Switches = [good] });
            // Health is reported to /healthz (the snapshot) a moment before segctl_verification_healthy.
            await WaitUntilAsync(
                () => health.Snapshot()[SnmpInventoryService.HealthSource].Healthy && metrics.VerificationHealthy.WithLabels(SnmpInventoryService.HealthSource).Value == 1,
                () => $"not verified with the failing switch gone: {health.Snapshot()[SnmpInventoryService.HealthSource].Detail}, segctl_verification_healthy {metrics.VerificationHealthy.WithLabels(SnmpInventoryService.HealthSource).Value}");
            Assert.DoesNotContain(metrics.SwitchReachable.GetAllLabelValues(), l => l[0] == "cisco-sw2");

            // No switch left: there is no SNMP verifier, neither healthy nor failing.
            provider.Set(site with { Switches = [] });
            await WaitUntilAsync(
                () => !health.Snapshot().ContainsKey(SnmpInventoryService.HealthSource) && !metrics.VerificationHealthy.GetAllLabelValues().Any(l => l[0] == SnmpInventoryService.HealthSource),
                () => $"the SNMP source not withdrawn from both health and /metrics with no switch left: health has it {health.Snapshot().ContainsKey(SnmpInventoryService.HealthSource)}");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task FindingsCannotBePublished_UnhealthyUntilAPollsFindingsAre_NotBackAndForth()
    {
        var policy = TestPolicies.Site(
            TestPolicies.V2cSwitch("qbridge-sw1", agents.Sim.Port, "qbridge", SwitchProfile.QBridge) with { PollInterval = TimeSpan.FromMilliseconds(300) });
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var log = new RecordingLogger<VerificationHealth>();
        var health = new VerificationHealth(metrics, TimeProvider.System, log);
        var sink = new FailingSink { Failing = true };
        using var service = new SnmpInventoryService(new SettablePolicyProvider(policy), sink, metrics, health, TimeProvider.System, NullLogger<SnmpInventoryService>.Instance)
        {
            Tick = TimeSpan.FromMilliseconds(50),
        };

        await service.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => sink.Attempts >= 4);
            var state = health.Snapshot()[SnmpInventoryService.HealthSource];
            Assert.False(state.Healthy);
            Assert.Contains("findings of qbridge-sw1 could not be published: store refused", state.Detail, StringComparison.Ordinal);

            // Every poll answered, but none of its findings was recorded: never healthy again in between.
            var messages = log.Messages;
            var firstFailure = messages.ToList().FindIndex(m => m.Contains("could not be published", StringComparison.Ordinal));
            Assert.True(firstFailure >= 0);
            Assert.DoesNotContain(messages.Skip(firstFailure), m => m.Contains("healthy=True", StringComparison.Ordinal));

            sink.Failing = false;
            await WaitUntilAsync(() => health.Snapshot()[SnmpInventoryService.HealthSource].Healthy);
            Assert.Contains(sink.Published, f => f.Rule == RuleIds.PortVlanMismatch);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>The polling service over <paramref name="policy"/>, ticking every 50 ms, with what it reports to.</summary>
    private static SnmpInventoryService Create(SitePolicy policy, out RecordingSink sink, out ControllerMetrics metrics, out VerificationHealth health) =>
        Create(new PolicyProvider("inline", policy), out sink, out metrics, out health);

    private static SnmpInventoryService Create(IPolicyProvider policy, out RecordingSink sink, out ControllerMetrics metrics, out VerificationHealth health)
    {
        metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        health = new VerificationHealth(metrics, TimeProvider.System, NullLogger<VerificationHealth>.Instance);
        sink = new RecordingSink();
        return new SnmpInventoryService(policy, sink, metrics, health, TimeProvider.System, NullLogger<SnmpInventoryService>.Instance)
        {
            Tick = TimeSpan.FromMilliseconds(50),
        };
    }

    /// <summary>A policy a test puts in force as a reload would.</summary>
    private sealed class SettablePolicyProvider(SitePolicy policy) : IPolicyProvider
    {
        private SitePolicy _current = policy;

        public event EventHandler<SitePolicy>? PolicyChanged;

        public SitePolicy Current => Volatile.Read(ref _current);

        public void Set(SitePolicy policy)
        {
            Volatile.Write(ref _current, policy);
            PolicyChanged?.Invoke(this, policy);
        }
    }

    /// <summary>A sink that refuses findings while <see cref="Failing"/>, as a store that cannot write does.</summary>
    private sealed class FailingSink : IFindingSink
    {
        private readonly Lock _lock = new();
        private readonly List<Finding> _published = [];
        private int _attempts;
        private volatile bool _failing;

        public bool Failing
        {
            get => _failing;
            set => _failing = value;
        }

        public int Attempts => Volatile.Read(ref _attempts);

        public IReadOnlyList<Finding> Published
        {
            get
            {
                lock (_lock)
                {
                    return [.. _published];
                }
            }
        }

        public ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            if (_failing)
            {
                throw new InvalidOperationException("store refused");
            }

            lock (_lock)
            {
                _published.AddRange(findings);
            }

            return ValueTask.CompletedTask;
        }
    }
}
