using SegmentController.Cli;
using SegmentController.Core.Suspension;
using SegmentController.Metrics;
using SegmentController.Proxy;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Proxy;

/// <summary><c>segctl_client_suspended</c> as the kill switch's events and policy reloads leave it.</summary>
public sealed class SuspensionMetricsObserverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-suspension-metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PolicyReload_AddsClientWhileSiteWideSuspensionInForce_NewClientGaugeIsOne()
    {
        var path = TestSite.WritePolicy(_dir);
        var provider = PolicyFile.Open(path).Provider!;
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var observer = new SuspensionMetricsObserver(metrics, provider, new RecordingLogger<SuspensionMetricsObserver>());
        observer.Tripped(Record("s1", SuspensionNames.AllClients));

        File.AppendAllText(path, Gamma);
        Assert.Empty(provider.Reload());

        Assert.Contains("gamma", provider.Current.Clients.Select(c => c.Id));
        Assert.Equal(1, Gauge(metrics, "gamma"));
        Assert.Equal(1, Gauge(metrics, "alpha"));
    }

    [Fact]
    public void PolicyReload_AddsClientWhileNothingSuspended_NewClientGaugeIsZero()
    {
        var path = TestSite.WritePolicy(_dir);
        var provider = PolicyFile.Open(path).Provider!;
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var observer = new SuspensionMetricsObserver(metrics, provider, new RecordingLogger<SuspensionMetricsObserver>());

        File.AppendAllText(path, Gamma);
        Assert.Empty(provider.Reload());

        Assert.Contains("gamma", Series(metrics));
        Assert.Equal(0, Gauge(metrics, "gamma"));
    }

    [Fact]
    public void PolicyReload_RemovesClient_ItsGaugeIsRemoved()
    {
        var path = TestSite.WritePolicy(_dir);
        File.AppendAllText(path, Gamma);
        var provider = PolicyFile.Open(path).Provider!;
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var observer = new SuspensionMetricsObserver(metrics, provider, new RecordingLogger<SuspensionMetricsObserver>());
        Assert.Contains("gamma", Series(metrics));

        TestSite.WritePolicy(_dir);
        Assert.Empty(provider.Reload());

        Assert.DoesNotContain("gamma", Series(metrics));
        Assert.Contains("alpha", Series(metrics));
    }

    private const string Gamma = """

          - id: gamma
            name: Gamma Retail
            contract_end: 2030-01-31
            segments:
              - name: agents
                vlans: [130]
                subnets: [127.0.130.0/24]

        """;

    private static SuspensionRecord Record(string id, string scope) => new()
    {
        Id = id,
        Scope = scope,
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "leak",
        TrippedAt = DateTimeOffset.UnixEpoch,
    };

    private static string[] Series(ControllerMetrics metrics) =>
        metrics.ClientSuspended.GetAllLabelValues().Select(values => values[0]).ToArray();

    private static double Gauge(ControllerMetrics metrics, string client) =>
        Series(metrics).Contains(client) ? metrics.ClientSuspended.WithLabels(client).Value : double.NaN;
}
