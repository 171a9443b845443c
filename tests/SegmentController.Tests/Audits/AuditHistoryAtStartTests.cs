using System.Globalization;
using System.Net;
using System.Text.Json;
using SegmentController.Tests.Evidence;

namespace SegmentController.Tests.Audits;

/// <summary>
/// The audits on record are read back at a start before the management listener opens: the first requests a
/// restarted controller answers already show them.
/// </summary>
public sealed class AuditHistoryAtStartTests
{
    [Fact]
    public async Task Restart_AuditOnRecord_FirstScrapeStatusAndAuditListAfterTheListenerAnswersShowIt()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-audit-restart-").FullName);
        site.WritePolicy();
        await site.StartAsync();

        string id;
        using (var auditor = site.Client("audra"))
        {
            using var posted = await auditor.PostAsync(
                new Uri("api/v1/audits/external", UriKind.Relative),
                new StringContent("""{"client": "alpha", "result": "pass", "summary": "quarterly walk-through"}""", System.Text.Encoding.UTF8, "application/json"));
            var answer = await posted.Content.ReadAsStringAsync();
            Assert.True(posted.StatusCode == HttpStatusCode.Created, answer);
            using var report = JsonDocument.Parse(answer);
            id = report.RootElement.GetProperty("id").GetString()!;
        }

        await site.StopAsync();
        await site.StartAsync();

        // The very first answers of the restarted controller, nothing waited for.
        var metrics = await site.MetricsAsync();
        using var viewer = site.Client("val");
        var status = await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative));
        var audits = await viewer.GetStringAsync(new Uri("api/v1/audits", UriKind.Relative));

        Assert.Contains("segctl_audit_last_result{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_audit_last_result{client=\"beta\"} -1", metrics, StringComparison.Ordinal);
        var timestamp = metrics.Split('\n').Single(l => l.StartsWith("segctl_audit_last_timestamp_seconds{client=\"alpha\"} ", StringComparison.Ordinal));
        Assert.True(double.Parse(timestamp.Split(' ')[1], CultureInfo.InvariantCulture) > 0, timestamp);

        using (var document = JsonDocument.Parse(status))
        {
            var alpha = document.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha");
            Assert.True(alpha.GetProperty("last_audit").ValueKind == JsonValueKind.Object, alpha.ToString());
            Assert.Equal(id, alpha.GetProperty("last_audit").GetProperty("id").GetString());
            Assert.Equal("pass", alpha.GetProperty("last_audit").GetProperty("outcome").GetString());
        }

        using (var document = JsonDocument.Parse(audits))
        {
            Assert.Equal(id, Assert.Single(document.RootElement.GetProperty("audits").EnumerateArray()).GetProperty("id").GetString());
        }
    }
}
