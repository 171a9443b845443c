using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Capture;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Findings;
using SegmentController.Health;
using SegmentController.Metrics;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Capture;

/// <summary>
/// The hosted capture service on a real wire: a veth pair whose far end sits in a namespace the test
/// creates; tcpreplay puts the leaky-site capture on it; findings, their updates and their evidence
/// pcaps reach the pipeline, the disk and the metrics; reloads reopen the interface in order.
/// </summary>
public sealed class CaptureServiceTests : IDisposable
{
    private static readonly string[] LeakRules =
        ["arp-spoofing", "cleartext-to-client", "cross-client-flow", "proxy-bypass", "unknown-mac", "unknown-vlan", "vlan-hopping", "vlan-subnet-mismatch", "weak-tls"];

    private const int LeakyFrames = 32;

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-capture-service-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    /// <summary>The corpus site with the given capture interfaces and its store (so its evidence) in the test's directory.</summary>
    private string WritePolicy(string interfaces, string silence = "60s")
    {
        var yaml = File.ReadAllText(Fixture("site.yaml"))
            .Replace("    interfaces: []", "    interfaces: " + interfaces, StringComparison.Ordinal)
            .Replace("    silence: 60s", "    silence: " + silence, StringComparison.Ordinal)
            .Replace("  capture:\n", $"  store:\n    path: {Path.Combine(_dir, "segctl.db")}\n  capture:\n", StringComparison.Ordinal);
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static string Interface(string name, string? filter = null) =>
        filter is null
            ? $"[{{name: {name}, snaplen: 2048, buffer_mib: 8}}]"
            : $"[{{name: {name}, snaplen: 2048, buffer_mib: 8, filter: \"{filter}\"}}]";

    private static (CaptureService Service, RecordingConsumer Pipeline, ControllerMetrics Metrics, VerificationHealth Health) Start(IPolicyProvider provider, ILogger<CaptureService>? logger = null, CaptureAnalyzerOptions? options = null)
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var health = new VerificationHealth(metrics, TimeProvider.System, NullLogger<VerificationHealth>.Instance);
        var consumer = new RecordingConsumer();
        var pipeline = new FindingPipeline(metrics, [consumer], NullLogger<FindingPipeline>.Instance);
        var service = new CaptureService(provider, pipeline, metrics, health, TimeProvider.System, logger ?? NullLogger<CaptureService>.Instance)
        {
            PublishInterval = TimeSpan.FromMilliseconds(200),
            FindingUpdateInterval = TimeSpan.FromMilliseconds(400),
            EvidenceWindow = TimeSpan.FromSeconds(1),
            AnalyzerOptions = options,
        };
        return (service, consumer, metrics, health);
    }

    [Fact]
    public async Task LeakyTrafficOnCapturedInterface_FindingsEvidenceUpdatesMetricsAndHealth()
    {
        using var lab = new VethLab(mirror: false);
        var provider = PolicyProvider.TryOpen(WritePolicy(Interface(lab.CaptureInterface)), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var (service, pipeline, metrics, health) = Start(provider);

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => health.Snapshot().TryGetValue(CaptureService.HealthSource, out var s) && s.Healthy));
            lab.Replay(Fixture("leaky-site.pcap"));

            Assert.True(await Eventually(() => New(pipeline).Count >= LeakRules.Length), $"{New(pipeline).Count} findings");
            Assert.Equal(LeakRules, New(pipeline).Select(f => f.Rule).Order(StringComparer.Ordinal));
            Assert.True(await Eventually(() => metrics.CapturePacketsTotal.WithLabels(lab.CaptureInterface).Value >= LeakyFrames));
            Assert.Equal(LeakyFrames, metrics.CapturePacketsTotal.WithLabels(lab.CaptureInterface).Value);
            Assert.True(metrics.ClientPacketsTotal.WithLabels("acme").Value > 0);
            Assert.Equal(0, metrics.CaptureDroppedTotal.WithLabels(lab.CaptureInterface).Value);
            Assert.Equal(0, metrics.CaptureSuppressedViolationsTotal.WithLabels(lab.CaptureInterface).Value);
            Assert.Equal(1, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);

            // Each violation's first frames are written beside the store and named, with their hash: in an update of
            // the finding, or in its first publication when that comes after the evidence window (a loaded machine).
            var evidenceDirectory = Path.Combine(_dir, "evidence");
            Assert.Equal(evidenceDirectory, service.EvidenceDirectory);
            Assert.True(await Eventually(() => WithEvidence(pipeline).Count == LeakRules.Length), $"{WithEvidence(pipeline).Count} evidence updates");
            foreach (var update in WithEvidence(pipeline).Values)
            {
                var file = (string)update.Evidence["evidence_file"]!;
                Assert.Equal(evidenceDirectory, Path.GetDirectoryName(file));
                Assert.Equal(update.Evidence["evidence_sha256"], Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
            }

            var crossFile = (string)WithEvidence(pipeline)[RuleIds.CrossClientFlow].Evidence["evidence_file"]!;
            using (var source = new PcapFileSource(crossFile))
            {
                var index = await PolicyIndex.BuildAsync(provider.Current, null, TimeSpan.FromSeconds(2), CancellationToken.None);
                var replayed = OfflineAnalysis.Run(source, index, DateTimeOffset.UtcNow, null, CancellationToken.None);
                Assert.Equal(2, replayed.Packets);
                Assert.Equal(RuleIds.CrossClientFlow, Assert.Single(replayed.Findings).Rule);
            }

            // The same traffic again: the counts are published as updates; nothing is counted or opened twice.
            lab.Replay(Fixture("leaky-site.pcap"));
            Assert.True(await Eventually(() => pipeline.Seen.Any(f => f.Update && f.Rule == RuleIds.CrossClientFlow && (long)f.Evidence["packets"]! == 4)));
            Assert.Equal(LeakRules.Length, New(pipeline).Count);
            Assert.Equal(1, metrics.FindingsTotal.WithLabels("cross-client-flow", "critical", "globex").Value);
            Assert.Equal(LeakRules.Length, Directory.GetFiles(evidenceDirectory, "*.pcap").Length);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task MoreViolationsThanTracked_AggregatesReportedSuppressionExportedCaptureDegraded()
    {
        using var lab = new VethLab(mirror: false);
        var provider = PolicyProvider.TryOpen(WritePolicy(Interface(lab.CaptureInterface)), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var (service, pipeline, metrics, health) = Start(provider, options: new CaptureAnalyzerOptions { MaxViolations = 3 });

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => health.Snapshot().TryGetValue(CaptureService.HealthSource, out var s) && s.Healthy));
            lab.Replay(Fixture("leaky-site.pcap"));

            // Three violations one by one; the other six rules still reported, each as its rule's aggregate.
            Assert.True(await Eventually(() => New(pipeline).Select(f => f.Rule).Distinct().Count() == LeakRules.Length + 1), string.Join(", ", New(pipeline).Select(f => f.Rule)));
            Assert.Equal(6, New(pipeline).Count(f => f.Evidence.ContainsKey("aggregated")));
            Assert.True(await Eventually(() => metrics.CaptureSuppressedViolationsTotal.WithLabels(lab.CaptureInterface).Value == 6));
            // One episode; handed out again as new each time a folded flow widened the clients it names.
            var overflows = New(pipeline).Where(f => f.Rule == RuleIds.CaptureDegraded).ToList();
            Assert.Single(overflows.Select(f => f.Key).Distinct());
            var overflow = overflows[^1];
            Assert.Equal("overflow", overflow.Evidence["reason"]);
            Assert.True(await Eventually(() => !health.Snapshot()[CaptureService.HealthSource].Healthy));
            Assert.Contains("more violations than are tracked", health.Snapshot()[CaptureService.HealthSource].Detail, StringComparison.Ordinal);
            Assert.Equal(1, metrics.FindingsTotal.WithLabels("cross-client-flow", "critical", "globex").Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task ReloadsChangeTheInterfacesFilter_AppliedInOrderAndTheInterfaceReopened()
    {
        using var lab = new VethLab(mirror: false);
        var path = WritePolicy(Interface(lab.CaptureInterface, "vlan 4000"));
        var provider = PolicyProvider.TryOpen(path, out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var logger = new RecordingLogger<CaptureService>();
        var (service, pipeline, metrics, health) = Start(provider, logger);

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => health.Snapshot().TryGetValue(CaptureService.HealthSource, out var s) && s.Healthy));
            lab.Replay(Fixture("leaky-site.pcap"));
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(0, metrics.CapturePacketsTotal.WithLabels(lab.CaptureInterface).Value);

            // Two reloads back to back: another filter, then none. The last one is what captures.
            WritePolicy(Interface(lab.CaptureInterface, "vlan 4001"));
            Assert.Empty(provider.Reload());
            WritePolicy(Interface(lab.CaptureInterface, filter: null));
            Assert.Empty(provider.Reload());

            Assert.True(await Eventually(() => service.InterfaceSettings.Single().Filter is null));
            Assert.True(await Eventually(() => logger.Messages.Count(m => m.StartsWith("Capturing on", StringComparison.Ordinal)) >= 2));
            // The reopened handle may not be open yet: replay until it sees the traffic.
            var reopened = Stopwatch.StartNew();
            while (metrics.CapturePacketsTotal.WithLabels(lab.CaptureInterface).Value == 0 && reopened.Elapsed < TimeSpan.FromSeconds(60))
            {
                lab.Replay(Fixture("leaky-site.pcap"));
                await Eventually(() => metrics.CapturePacketsTotal.WithLabels(lab.CaptureInterface).Value > 0, TimeSpan.FromMilliseconds(500));
            }

            Assert.True(await Eventually(() => New(pipeline).Count >= LeakRules.Length));
            Assert.Equal(LeakRules, New(pipeline).Select(f => f.Rule).Order(StringComparer.Ordinal));
            Assert.Contains(logger.Messages, m => m.StartsWith($"Capture settings of {lab.CaptureInterface} changed", StringComparison.Ordinal) && m.EndsWith("filter '')", StringComparison.Ordinal));
            Assert.EndsWith("filter '')", logger.Messages.Last(m => m.StartsWith("Capturing on", StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.Equal(1, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task InterfaceMissing_CaptureUnhealthy()
    {
        var provider = PolicyProvider.TryOpen(WritePolicy(Interface("segsvc-none0")), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var (service, _, metrics, health) = Start(provider);

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => health.Snapshot().TryGetValue(CaptureService.HealthSource, out var s) && s.Detail.Contains("segsvc-none0", StringComparison.Ordinal)));
            Assert.False(health.Snapshot()[CaptureService.HealthSource].Healthy);
            Assert.Equal(0, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task InterfaceDeletedWhileCapturing_CaptureDegradedWhileItIsGone_ReopenedWhenItReturns()
    {
        using var lab = new VethLab(mirror: false);
        var provider = PolicyProvider.TryOpen(WritePolicy(Interface(lab.CaptureInterface), silence: "2s"), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var (service, pipeline, metrics, health) = Start(provider);

        await service.StartAsync(CancellationToken.None);
        try
        {
            // Frames flow until the link is removed, so what follows is the removal, not a quiet wire.
            Assert.True(await WhileReplaying(lab, () => Healthy(health) && metrics.CapturePacketsTotal.WithLabels(lab.CaptureInterface).Value > 0));
            var before = Degraded(pipeline).Count;
            lab.DeleteCaptureInterface();

            // Gone for longer than the policy's silence: verification is lost, and said so by a finding —
            // published while the interface is still gone, not once it returns.
            Assert.True(await Eventually(() => Degraded(pipeline).Count > before), "no capture-degraded finding while the interface was gone");
            var episode = Assert.Single(Degraded(pipeline).Skip(before));
            Assert.Equal("silence", episode.Evidence["reason"]);
            Assert.Equal(lab.CaptureInterface, episode.Evidence["interface"]);
            Assert.Equal(true, episode.Evidence["ongoing"]);
            Assert.False(Healthy(health));
            Assert.Contains(lab.CaptureInterface, health.Snapshot()[CaptureService.HealthSource].Detail, StringComparison.Ordinal);
            Assert.Equal(0, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);

            // The interface returns: capture reopens on it, and the one episode ends (one finding, updated).
            lab.RecreateCaptureInterface();
            Assert.True(await WhileReplaying(lab, () => Healthy(health)), health.Snapshot()[CaptureService.HealthSource].Detail);
            Assert.True(await Eventually(() => pipeline.Seen.Any(f => f.Update && f.Key == episode.Key && Equals(f.Evidence["ongoing"], false))));
            Assert.Equal(before + 1, Degraded(pipeline).Count);
            Assert.Equal(1, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task InterfaceMissingFromTheStart_OneCaptureDegradedOnceSilencePassed()
    {
        var provider = PolicyProvider.TryOpen(WritePolicy(Interface("segsvc-none1"), silence: "1s"), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var logger = new RecordingLogger<CaptureService>();
        var (service, pipeline, metrics, _) = Start(provider, logger);

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => Degraded(pipeline).Count > 0), "no capture-degraded finding for an interface that is not there");
            var episode = Assert.Single(Degraded(pipeline));
            Assert.Equal("silence", episode.Evidence["reason"]);
            Assert.Equal("segsvc-none1", episode.Evidence["interface"]);
            Assert.Empty(episode.Clients);

            // Reopening fails again and again (each try after the first says so): still the one episode, not a
            // finding per attempt.
            Assert.True(await Eventually(() => logger.Messages.Count(m => m.StartsWith("Capture on segsvc-none1 still failing:", StringComparison.Ordinal)) >= 2), "capture was not tried again and again");
            Assert.Single(Degraded(pipeline));
            Assert.Equal(1, metrics.FindingsTotal.WithLabels(RuleIds.CaptureDegraded, "high", FindingPipeline.NoClientLabel).Value);
            Assert.Equal(0, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);

            // One error line naming why, not one (with a stack trace) per attempt.
            var failed = Assert.Single(logger.Messages, m => m.StartsWith("Capture on segsvc-none1 failed:", StringComparison.Ordinal));
            Assert.Contains("segsvc-none1", failed[("Capture on segsvc-none1 failed:".Length)..], StringComparison.Ordinal);
            Assert.Contains(logger.Messages, m => m.StartsWith("Capture on segsvc-none1 still failing:", StringComparison.Ordinal));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task FindingsCannotBeRecorded_UnhealthyUntilALaterPublicationIs_TheLossStaysOnTheSource()
    {
        using var lab = new VethLab(mirror: false);
        var provider = PolicyProvider.TryOpen(WritePolicy(Interface(lab.CaptureInterface)), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var (service, pipeline, _, health) = Start(provider);

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => Healthy(health)));
            pipeline.Failing = true;
            lab.Replay(Fixture("leaky-site.pcap"));
            Assert.True(await Eventually(() => pipeline.Refused > 0));
            Assert.True(await Eventually(() => !Healthy(health)));
            var lost = health.Snapshot()[CaptureService.HealthSource];
            Assert.StartsWith("findings could not be recorded at ", lost.Detail, StringComparison.Ordinal);
            Assert.NotNull(lost.EvidenceLostAt);

            // Publication after publication finds nothing new to record: capture is still not healthy —
            // what it found is not on record — rather than healthy again one interval later.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.False(Healthy(health), health.Snapshot()[CaptureService.HealthSource].Detail);

            // The same violations again: their updates are recorded, and capture is healthy again; the
            // time of the loss stays for audits whose window holds it.
            pipeline.Failing = false;
            Assert.True(await WhileReplaying(lab, () => Healthy(health), "leaky-site.pcap"), health.Snapshot()[CaptureService.HealthSource].Detail);
            Assert.True(health.Snapshot()[CaptureService.HealthSource].EvidenceLostAt >= lost.EvidenceLostAt);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    private static bool Healthy(VerificationHealth health) =>
        health.Snapshot().TryGetValue(CaptureService.HealthSource, out var state) && state.Healthy;

    private static List<Finding> Degraded(RecordingConsumer pipeline) =>
        New(pipeline).Where(f => f.Rule == RuleIds.CaptureDegraded).ToList();

    /// <summary>Replays the clean capture on the lab's wire until <paramref name="condition"/> holds (or 60 s pass).</summary>
    private static async Task<bool> WhileReplaying(VethLab lab, Func<bool> condition, string capture = "clean-site.pcap")
    {
        var deadline = Stopwatch.StartNew();
        while (!condition() && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            lab.Replay(Fixture(capture));
            await Task.Delay(100);
        }

        return condition();
    }

    private static List<Finding> New(RecordingConsumer pipeline) => pipeline.Seen.Where(f => !f.Update).ToList();

    /// <summary>The latest update naming an evidence file, per rule.</summary>
    private static Dictionary<string, Finding> WithEvidence(RecordingConsumer pipeline) =>
        pipeline.Seen
            .Where(f => f.Evidence.ContainsKey("evidence_file"))
            .GroupBy(f => f.Rule, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    private static async Task<bool> Eventually(Func<bool> condition, TimeSpan? within = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (within ?? TimeSpan.FromSeconds(60)))
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition();
    }

    /// <summary>Every finding the pipeline hands to its consumers, in order.</summary>
    private sealed class RecordingConsumer : IFindingConsumer
    {
        private readonly Lock _lock = new();
        private readonly List<Finding> _seen = [];

        public IReadOnlyList<Finding> Seen
        {
            get
            {
                lock (_lock)
                {
                    return [.. _seen];
                }
            }
        }

        /// <summary>While set, findings are refused (as by a store that cannot write).</summary>
        public bool Failing { get; set; }

        public int Refused { get; private set; }

        public ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                if (Failing)
                {
                    Refused++;
                    throw new InvalidOperationException("store refused");
                }

                _seen.AddRange(findings);
            }

            return ValueTask.CompletedTask;
        }
    }
}
