using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Prometheus;
using SegmentController.Metrics;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Monitoring;

/// <summary>The shipped Prometheus configuration, alert rules and dashboard, checked by the real tools.</summary>
public sealed partial class MonitoringTests : IDisposable
{
    private static readonly string MonitoringDir = Path.Combine(RepositoryPaths.Root, "lab", "monitoring");
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-prom-").FullName;

    [Fact]
    public async Task AlertRules_PassPromtoolCheck()
    {
        var (code, output) = await ExternalTool.RunAsync("promtool", MonitoringDir, "check", "rules", "alerts.yml");

        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlertRules_FireOnTheirCasesInPromtoolUnitTests()
    {
        var (code, output) = await ExternalTool.RunAsync("promtool", MonitoringDir, "test", "rules", "alerts.test.yml");

        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task ScrapeConfig_PassesPromtoolCheck()
    {
        var (code, output) = await ExternalTool.RunAsync("promtool", MonitoringDir, "check", "config", "prometheus.yml");

        Assert.True(code == 0, output);
    }

    [Fact]
    public void AlertsAndDashboard_ReferOnlyToMetricsTheControllerExports()
    {
        var exported = ExportedMetricNames();
        var texts = new[]
        {
            File.ReadAllText(Path.Combine(MonitoringDir, "alerts.yml")),
            string.Join('\n', DashboardExpressions()),
        };

        var referenced = texts.SelectMany(t => MetricName().Matches(t).Select(m => m.Value))
            .Select(name => Regex.Replace(name, "_(bucket|sum|count)$", ""))
            .ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(referenced);
        Assert.DoesNotContain(referenced, name => !exported.Contains(name));
    }

    [Fact]
    public async Task Prometheus_ScrapesARunningController()
    {
        await using var segctl = SegctlProcess.Start("run", "--policy", TestSite.WritePolicy(_dir), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        var promPort = ExternalTool.FreeLoopbackPort();
        var config = Path.Combine(_dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: segctl
                static_configs:
                  - targets: ["{management.Authority}"]
            """);

        using var prometheus = Process.Start(new ProcessStartInfo("prometheus")
        {
            ArgumentList =
            {
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(_dir, "data")}",
                $"--web.listen-address=127.0.0.1:{promPort}",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        prometheus.ErrorDataReceived += (_, _) => { };
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var query = new Uri($"http://127.0.0.1:{promPort}/api/v1/query?query=segctl_build_info");
            var deadline = DateTime.UtcNow.AddSeconds(90);
            JsonElement result = default;
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var doc = JsonDocument.Parse(await http.GetStringAsync(query));
                    result = doc.RootElement.GetProperty("data").GetProperty("result").Clone();
                    if (result.GetArrayLength() > 0)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // Prometheus is still starting.
                }

                await Task.Delay(250);
            }

            var sample = Assert.Single(result.EnumerateArray());
            Assert.Equal("segctl", sample.GetProperty("metric").GetProperty("job").GetString());
            Assert.Equal("1", sample.GetProperty("value")[1].GetString());
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HashSet<string> ExportedMetricNames()
    {
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        return typeof(ControllerMetrics).GetProperties()
            .Select(p => p.GetValue(metrics))
            .OfType<Collector>()
            .Select(c => c.Name)
            .ToHashSet(StringComparer.Ordinal);
    }

    private static List<string> DashboardExpressions()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(MonitoringDir, "grafana-dashboard.json")));
        var expressions = new List<string>();
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                expressions.Add(target.GetProperty("expr").GetString()!);
            }
        }

        return expressions;
    }

    [GeneratedRegex("segctl_[a-z_]+")]
    private static partial Regex MetricName();
}
