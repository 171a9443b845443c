using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using SegmentController.Core.Findings;
using SegmentController.Findings;
using SegmentController.Metrics;

namespace SegmentController.Tests.Findings;

public sealed class FindingPipelineTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Publish_FindingForTwoClients_CountsOncePerClient()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var finding = Finding.Create(RuleIds.CrossClientFlow, ["ibex", "assistring"], "leak", new Dictionary<string, object?>(), Now);

        await pipeline.PublishAsync([finding, finding], CancellationToken.None);

        Assert.Equal(2, metrics.FindingsTotal.WithLabels("cross-client-flow", "critical", "ibex").Value);
        Assert.Equal(2, metrics.FindingsTotal.WithLabels("cross-client-flow", "critical", "assistring").Value);
        Assert.Equal(2, pipeline.Recent.Count);
    }

    [Fact]
    public async Task Publish_UpdateOfAFinding_NotCountedAgainButRecordedByConsumers()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var consumer = new RecordingConsumer();
        var pipeline = new FindingPipeline(metrics, [consumer], NullLogger<FindingPipeline>.Instance);
        var finding = Finding.Create(RuleIds.CrossClientFlow, ["ibex"], "leak", new Dictionary<string, object?> { ["packets"] = 1L }, Now);
        var update = finding with { Update = true, Evidence = new Dictionary<string, object?> { ["packets"] = 900L } };

        await pipeline.PublishAsync([finding], CancellationToken.None);
        await pipeline.PublishAsync([update], CancellationToken.None);

        Assert.Equal(1, metrics.FindingsTotal.WithLabels("cross-client-flow", "critical", "ibex").Value);
        Assert.Equal([finding, update], consumer.Seen);
        Assert.Equal([finding, update], pipeline.Recent);
    }

    [Fact]
    public async Task Publish_UpdateWithKey_ReplacesWhatItUpdatesInRecent()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var leak = Finding.Create(RuleIds.CrossClientFlow, ["ibex"], "leak", new Dictionary<string, object?>(), Now) with { Key = "capture/span0/1" };
        var other = Finding.Create(RuleIds.UnknownVlan, [], "vlan 300", new Dictionary<string, object?>(), Now) with { Key = "capture/span0/2" };

        await pipeline.PublishAsync([leak, other], CancellationToken.None);
        for (var i = 0; i < 600; i++)
        {
            await pipeline.PublishAsync([leak with { Update = true, Summary = $"leak {i}" }], CancellationToken.None);
        }

        Assert.Equal(["vlan 300", "leak 599"], pipeline.Recent.Select(f => f.Summary));
    }

    [Fact]
    public async Task Publish_SiteWideFinding_CountsUnderNoneLabel()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);

        await pipeline.PublishAsync([Finding.Create(RuleIds.CaptureDegraded, [], "silence", new Dictionary<string, object?>(), Now)], CancellationToken.None);

        Assert.Equal(1, metrics.FindingsTotal.WithLabels("capture-degraded", "high", FindingPipeline.NoClientLabel).Value);
    }

    [Fact]
    public async Task Publish_ConsumerFails_OthersStillRunAndFailureSurfaces()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var after = new RecordingConsumer();
        var pipeline = new FindingPipeline(metrics, [new FailingConsumer(), after], NullLogger<FindingPipeline>.Instance);
        var finding = Finding.Create(RuleIds.PortVlanMismatch, ["ibex"], "port in foreign VLAN", new Dictionary<string, object?>(), Now);

        var error = await Assert.ThrowsAsync<AggregateException>(() => pipeline.PublishAsync([finding], CancellationToken.None).AsTask());

        Assert.IsType<IOException>(Assert.Single(error.InnerExceptions));
        Assert.Equal([finding], after.Seen);
    }

    [Fact]
    public async Task Publish_MoreThanCapacity_KeepsOnlyTheNewest()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        var findings = Enumerable.Range(0, 600)
            .Select(i => Finding.Create(RuleIds.UnknownVlan, [], $"vlan {i}", new Dictionary<string, object?>(), Now))
            .ToArray();

        await pipeline.PublishAsync(findings, CancellationToken.None);

        Assert.Equal(512, pipeline.Recent.Count);
        Assert.Equal("vlan 599", pipeline.Recent[^1].Summary);
        Assert.Equal("vlan 88", pipeline.Recent[0].Summary);
    }

    private sealed class FailingConsumer : IFindingConsumer
    {
        public ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken) =>
            throw new IOException("disk full");
    }

    private sealed class RecordingConsumer : IFindingConsumer
    {
        public List<Finding> Seen { get; } = [];

        public ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
        {
            Seen.AddRange(findings);
            return ValueTask.CompletedTask;
        }
    }
}
