using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SegmentController.Hosting;
using SegmentController.Tests.Evidence;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The per-client gauges of <c>/metrics</c> after a policy reload, on a controller built as <c>segctl run</c>
/// builds it: a client the reload adds has every one of them at once, a client it takes away has none left.
/// </summary>
public sealed class PolicyReloadMetricsTests
{
    private static readonly string[] PerClientGauges =
    [
        "segctl_client_suspended",
        "segctl_incidents_open",
        "segctl_incident_notice_due_timestamp_seconds",
        "segctl_audit_last_result",
        "segctl_audit_last_timestamp_seconds",
    ];

    [Fact]
    public async Task Reload_AddsClientUnderSiteWideSuspension_EveryPerClientGaugeHasItAndItReadsSuspended()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-reload-metrics-").FullName);
        await site.StartAsync();
        using (var alice = site.Client("alice"))
        {
            using var tripped = await alice.PostAsync("api/v1/suspend-all", new StringContent("""{"reason":"leak under investigation"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, tripped.StatusCode);
        }

        site.ExtraClients.Add(("gamma", "2031-03-31"));
        site.WritePolicy();
        Assert.Empty(Reloads(site).Reload());

        var metrics = await site.MetricsAsync();
        foreach (var gauge in PerClientGauges)
        {
            Assert.True(metrics.Contains($"{gauge}{{client=\"gamma\"}}", StringComparison.Ordinal), $"{gauge} has no series for gamma:\n{Lines(metrics, gauge)}");
        }

        Assert.Contains("segctl_client_suspended{client=\"gamma\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_incidents_open{client=\"gamma\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_incident_notice_due_timestamp_seconds{client=\"gamma\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_RemovesClient_NoPerClientGaugeKeepsIt()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-reload-metrics-").FullName);
        site.ExtraClients.Add(("gamma", "2031-03-31"));
        await site.StartAsync();
        var before = await site.MetricsAsync();
        foreach (var gauge in PerClientGauges)
        {
            Assert.Contains($"{gauge}{{client=\"gamma\"}}", before, StringComparison.Ordinal);
        }

        site.ExtraClients.Clear();
        site.WritePolicy();
        Assert.Empty(Reloads(site).Reload());

        var metrics = await site.MetricsAsync();
        foreach (var gauge in PerClientGauges)
        {
            Assert.False(metrics.Contains($"{gauge}{{client=\"gamma\"}}", StringComparison.Ordinal), $"{gauge} still has gamma, which the policy no longer names:\n{Lines(metrics, gauge)}");
            Assert.Contains($"{gauge}{{client=\"alpha\"}}", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Reload_RemovesClientOwedAnIncidentNotice_ItsIncidentGaugesStay()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-reload-metrics-").FullName);
        site.ExtraClients.Add(("gamma", "2031-03-31"));
        await site.StartAsync();
        using (var alice = site.Client("alice"))
        {
            using var opened = await alice.PostAsync("api/v1/incidents", new StringContent("""{"clients":["gamma"],"nature":"badge reader logs copied to a USB stick"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        }

        site.ExtraClients.Clear();
        site.WritePolicy();
        Assert.Empty(Reloads(site).Reload());

        var metrics = await site.MetricsAsync();
        Assert.Contains("segctl_incidents_open{client=\"gamma\"} 1", metrics, StringComparison.Ordinal);
        Assert.Matches("segctl_incident_notice_due_timestamp_seconds\\{client=\"gamma\"\\} [1-9]", metrics);
        Assert.DoesNotContain("segctl_client_suspended{client=\"gamma\"}", metrics, StringComparison.Ordinal);
    }

    private static PolicyReloadService Reloads(EvidenceSite site) =>
        site.App!.Services.GetServices<IHostedService>().OfType<PolicyReloadService>().Single();

    private static string Lines(string metrics, string name) =>
        string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)));
}
