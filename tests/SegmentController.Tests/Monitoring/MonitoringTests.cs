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
    public async Task Prometheus_SeesATripAndFiresTheShippedAlert()
    {
        var keys = new Dictionary<string, string> { ["alice"] = Api.OperatorApiSite.NewKey() };
        var keysFile = Path.Combine(_dir, "api-keys");
        Api.OperatorApiSite.WriteKeys(keysFile, keys, ("alice", "operator"));
        await using var segctl = SegctlProcess.Start("run", "--policy", TestSite.WritePolicy(_dir, apiKeysFile: keysFile), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));

        // The shipped rules, evaluated as often as the controller is scraped.
        var config = Path.Combine(_dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {Path.Combine(MonitoringDir, "alerts.yml")}
            scrape_configs:
              - job_name: segctl
                static_configs:
                  - targets: ["{management.Authority}"]
            """);
        await using var prometheus = PrometheusServer.Start(config, Path.Combine(_dir, "data"));

        var built = await prometheus.WaitForAsync("segctl_build_info", r => r.GetArrayLength() > 0, TimeSpan.FromSeconds(90));
        var build = Assert.Single(built.EnumerateArray());
        Assert.Equal("segctl", build.GetProperty("metric").GetProperty("job").GetString());
        Assert.Equal("1", build.GetProperty("value")[1].GetString());

        var before = await prometheus.WaitForAsync("segctl_client_suspended{client=\"alpha\"}", r => r.GetArrayLength() > 0, TimeSpan.FromSeconds(30));
        Assert.Equal("0", Assert.Single(before.EnumerateArray()).GetProperty("value")[1].GetString());
        // Every shipped rule loaded and was evaluated, without error, after that scrape; none fired for alpha.
        var sampledAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(double.Parse(
            Assert.Single((await prometheus.QueryAsync("timestamp(segctl_client_suspended{client=\"alpha\"})")).EnumerateArray()).GetProperty("value")[1].GetString()!,
            System.Globalization.CultureInfo.InvariantCulture) * 1000));
        var groups = await prometheus.WaitForRulesAsync(
            g => g.GetArrayLength() == 1 && g[0].GetProperty("lastEvaluation").GetDateTimeOffset() > sampledAt,
            TimeSpan.FromSeconds(30));
        var rules = groups[0].GetProperty("rules").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r);
        Assert.Equal(ShippedAlertNames().Order(StringComparer.Ordinal), rules.Keys.Order(StringComparer.Ordinal));
        Assert.All(rules.Values, r => Assert.Equal("ok", r.GetProperty("health").GetString()));
        Assert.Equal("inactive", rules["SegctlClientSuspended"].GetProperty("state").GetString());
        Assert.Equal(0, (await prometheus.QueryAsync("ALERTS{alertname=\"SegctlClientSuspended\"}")).GetArrayLength());

        using (var api = new HttpClient { BaseAddress = management })
        {
            api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", keys["alice"]);
            using var tripped = await api.PostAsync(new Uri("api/v1/clients/alpha/suspend", UriKind.Relative), Api.OperatorApiSite.Reason("prometheus end-to-end"));
            Assert.Equal(System.Net.HttpStatusCode.Created, tripped.StatusCode);
        }

        var after = await prometheus.WaitForAsync(
            "segctl_client_suspended",
            r => r.EnumerateArray().Any(s => s.GetProperty("metric").GetProperty("client").GetString() == "alpha" && s.GetProperty("value")[1].GetString() == "1"),
            TimeSpan.FromSeconds(30));
        var beta = after.EnumerateArray().Single(s => s.GetProperty("metric").GetProperty("client").GetString() == "beta");
        Assert.Equal("0", beta.GetProperty("value")[1].GetString());

        var firing = await prometheus.WaitForAsync(
            "ALERTS{alertname=\"SegctlClientSuspended\",alertstate=\"firing\"}", r => r.GetArrayLength() > 0, TimeSpan.FromSeconds(30));
        var alert = Assert.Single(firing.EnumerateArray()).GetProperty("metric");
        Assert.Equal("alpha", alert.GetProperty("client").GetString());
        Assert.Equal("critical", alert.GetProperty("severity").GetString());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<string> ShippedAlertNames() =>
        File.ReadAllLines(Path.Combine(MonitoringDir, "alerts.yml"))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("- alert: ", StringComparison.Ordinal))
            .Select(l => l["- alert: ".Length..].Trim())
            .ToList();

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
