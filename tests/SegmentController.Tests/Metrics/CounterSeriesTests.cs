using System.Text;
using SegmentController.Cli;
using SegmentController.Core.Findings;
using SegmentController.Metrics;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Metrics;

/// <summary>
/// The counters alerts take the increase of are on <c>/metrics</c> at 0 before anything is counted, so the
/// first finding or trip of a run is an increase Prometheus sees.
/// </summary>
public sealed class CounterSeriesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-counter-series-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Start_EveryRuleClientAndTriggerSeriesAtZero()
    {
        var provider = PolicyFile.Open(TestSite.WritePolicy(_dir)).Provider!;
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var series = new CounterSeries(metrics, provider);

        var text = await ExportAsync(metrics);
        Assert.Contains("segctl_findings_total{rule=\"cross-client-flow\",severity=\"critical\",client=\"alpha\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("segctl_findings_total{rule=\"cross-client-flow\",severity=\"critical\",client=\"beta\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("segctl_findings_total{rule=\"log-integrity-failure\",severity=\"critical\",client=\"none\"} 0", text, StringComparison.Ordinal);
        Assert.Equal(RuleCatalog.All.Count * 3, text.Split('\n').Count(l => l.StartsWith("segctl_findings_total{", StringComparison.Ordinal)));
        Assert.Contains("segctl_killswitch_trips_total{client=\"alpha\",trigger=\"operator\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("segctl_killswitch_trips_total{client=\"all\",trigger=\"operator\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("segctl_policy_reloads_total{outcome=\"applied\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("segctl_policy_reloads_total{outcome=\"rejected\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReloadAddsClient_ItsSeriesAtZeroAtOnce()
    {
        var path = TestSite.WritePolicy(_dir);
        var provider = PolicyFile.Open(path).Provider!;
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var series = new CounterSeries(metrics, provider);

        File.AppendAllText(path, """

              - id: gamma
                name: Gamma Retail
                contract_end: 2030-01-31
                segments:
                  - name: agents
                    vlans: [130]
                    subnets: [127.0.130.0/24]

            """);
        Assert.Empty(provider.Reload());

        var text = await ExportAsync(metrics);
        Assert.Contains("segctl_findings_total{rule=\"cross-client-flow\",severity=\"critical\",client=\"gamma\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("segctl_killswitch_trips_total{client=\"gamma\",trigger=\"finding\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControllerAsSegctlRunBuildsIt_FirstScrapeHasTheCountersAtZero_FirstFindingIsAnIncrease()
    {
        await using var site = new SegmentController.Tests.Evidence.EvidenceSite(Path.Combine(_dir, "site"));
        await site.StartAsync();

        var first = await site.MetricsAsync();
        Assert.Contains("segctl_findings_total{rule=\"cross-client-flow\",severity=\"critical\",client=\"alpha\"} 0", first, StringComparison.Ordinal);
        Assert.Contains("segctl_killswitch_trips_total{client=\"beta\",trigger=\"operator\"} 0", first, StringComparison.Ordinal);
        Assert.Contains("segctl_policy_reloads_total{outcome=\"rejected\"} 0", first, StringComparison.Ordinal);

        await site.Service<SegmentController.Findings.FindingPipeline>().PublishAsync(
            [Finding.Create(RuleIds.CrossClientFlow, ["alpha"], "alpha's agent reached beta's CRM", new Dictionary<string, object?>(), DateTimeOffset.UnixEpoch)],
            CancellationToken.None);
        Assert.Contains("segctl_findings_total{rule=\"cross-client-flow\",severity=\"critical\",client=\"alpha\"} 1", await site.MetricsAsync(), StringComparison.Ordinal);
    }

    private static async Task<string> ExportAsync(ControllerMetrics metrics)
    {
        using var buffer = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
