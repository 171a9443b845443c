using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Evidence;

namespace SegmentController.Tests.Audits;

/// <summary>An audit done by an external auditor, recorded with <c>segctl audit record</c>: an audit result like a run one.</summary>
public sealed class ExternalAuditTests
{
    [Fact]
    public async Task RecordedFailure_IsAnAuditResult_RaisesAuditFailed_Suspends_PassCountsForRestore()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-extaudit-").FullName);
        site.Extra = "restore:\n  approvers: 1\n  require_passing_audit: true";
        site.WritePolicy();
        await site.StartAsync();

        var (code, output, error) = await CliAsync(site, "audra", "audit", "record", "beta", "--result", "fail", "--auditor", "Ext Audit Co", "--summary", "port 7 carries alpha's VLAN");
        Assert.True(code == 1, error);
        Assert.Contains("(external)", output, StringComparison.Ordinal);
        Assert.Contains("recorded by audra (api-key); external auditor (as stated by the recorder): Ext Audit Co", output, StringComparison.Ordinal);
        Assert.Contains("external audit recorded by audra", output, StringComparison.Ordinal);

        // The summary names alpha: kept as written under both keys, beta's export showing its own view of it.
        var record = Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.AuditResult }));
        Assert.Equal("alpha,beta", record.Clients);
        var view = Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.AuditView }));
        Assert.Equal("beta", view.Clients);
        using (var own = JsonDocument.Parse(view.Payload!.Value))
        {
            Assert.Equal("port 7 carries another client's VLAN (external auditor, as stated by the recorder: Ext Audit Co)", own.RootElement.GetProperty("checks")[0].GetProperty("detail").GetString());
        }

        using (var body = JsonDocument.Parse(record.Payload!.Value))
        {
            Assert.Equal("external", body.RootElement.GetProperty("trigger").GetString());
            Assert.Equal("fail", body.RootElement.GetProperty("results").GetProperty("beta").GetString());
            var check = body.RootElement.GetProperty("checks")[0];
            Assert.Equal("external audit recorded by audra", check.GetProperty("name").GetString());
            Assert.Equal("port 7 carries alpha's VLAN (external auditor, as stated by the recorder: Ext Audit Co)", check.GetProperty("detail").GetString());
            Assert.Equal("audra", body.RootElement.GetProperty("recorded_by").GetProperty("name").GetString());
            Assert.Equal("Ext Audit Co", body.RootElement.GetProperty("external_auditor").GetString());
        }

        await EvidenceSite.WaitUntilAsync(async () => (await site.MetricsAsync()).Contains("segctl_findings_total{rule=\"audit-failed\",severity=\"critical\",client=\"beta\"} 1", StringComparison.Ordinal), "audit-failed for beta");
        var metrics = await site.MetricsAsync();
        Assert.Contains("segctl_audit_last_result{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"beta\"} 1", metrics, StringComparison.Ordinal);

        // A later external pass counts: the restore goes through (one approver, a passing audit since the trip).
        (code, _, error) = await CliAsync(site, "audra", "audit", "record", "beta", "--result", "pass", "--auditor", "Ext Audit Co", "--summary", "port 7 re-patched, re-audited");
        Assert.True(code == 0, error);
        Assert.Contains("segctl_audit_last_result{client=\"beta\"} 1", await site.MetricsAsync(), StringComparison.Ordinal);
        (code, _, error) = await CliAsync(site, "alice", "restore", "beta", "--reason", "external re-audit passed");
        Assert.True(code == 0, error);

        var (listed, list, _) = await CliAsync(site, "val", "audit", "list", "--client", "beta");
        Assert.Equal(0, listed);
        Assert.Equal(2, list.Split('\n').Count(l => l.Contains("external", StringComparison.Ordinal)));

        // Only auditors record; a result is pass or fail.
        Assert.Equal(2, (await CliAsync(site, "val", "audit", "record", "beta", "--result", "pass", "--summary", "x")).Code);
        Assert.Equal(2, (await CliAsync(site, "audra", "audit", "record", "beta", "--result", "maybe", "--summary", "x")).Code);
        Assert.Equal(2, (await CliAsync(site, "audra", "audit", "record", "nobody", "--result", "pass", "--summary", "x")).Code);
        await site.StopAsync();
        Assert.True(StoreVerifier.Verify(site.StorePath, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task RecordedFailure_SuspendOnFailureOff_RaisesAuditFailedWithoutSuspending()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-extaudit-nosusp-").FullName);
        site.Extra = "audits:\n  suspend_on_failure: false";
        site.WritePolicy();
        await site.StartAsync();

        var (code, _, error) = await CliAsync(site, "audra", "audit", "record", "alpha", "--result", "fail", "--summary", "badge reader log missing");
        Assert.True(code == 1, error);
        await EvidenceSite.WaitUntilAsync(async () => (await site.MetricsAsync()).Contains("segctl_findings_total{rule=\"audit-failed\",severity=\"critical\",client=\"alpha\"} 1", StringComparison.Ordinal), "audit-failed for alpha");
        Assert.DoesNotContain("segctl_client_suspended{client=\"alpha\"} 1", await site.MetricsAsync(), StringComparison.Ordinal);

        // No external auditor named: the record names only who recorded it.
        var record = Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.AuditResult }));
        using var body = JsonDocument.Parse(record.Payload!.Value);
        Assert.Equal("external audit recorded by audra", body.RootElement.GetProperty("checks")[0].GetProperty("name").GetString());
        Assert.Equal("badge reader log missing", body.RootElement.GetProperty("checks")[0].GetProperty("detail").GetString());
        Assert.Equal("audra", body.RootElement.GetProperty("recorded_by").GetProperty("name").GetString());
        Assert.False(body.RootElement.TryGetProperty("external_auditor", out _));
    }

    [Fact]
    public async Task RecordedUnderAnotherName_AttributedToTheCredential_NameKeptApartAsTheStatedAuditor()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-extaudit-who-").FullName);
        site.WritePolicy();
        await site.StartAsync();

        // audra (an auditor's key) records a pass as if alice, or an audit firm, had recorded it.
        using var api = site.Client("audra");
        using var posted = await api.PostAsync(
            new Uri("api/v1/audits/external", UriKind.Relative),
            new StringContent("""{"client": "alpha", "result": "pass", "auditor": "alice", "summary": "annual ISO 27001 surveillance audit"}""", System.Text.Encoding.UTF8, "application/json"));
        var answer = await posted.Content.ReadAsStringAsync();
        Assert.True(posted.StatusCode == System.Net.HttpStatusCode.Created, answer);

        using (var report = JsonDocument.Parse(answer))
        {
            AssertAttributed(report.RootElement);
            var shown = await api.GetStringAsync(new Uri($"api/v1/audits/{report.RootElement.GetProperty("id").GetString()}", UriKind.Relative));
            using var again = JsonDocument.Parse(shown);
            AssertAttributed(again.RootElement);
        }

        // On record the same way: the audit result, as read back after a restart too, and the operator action.
        var record = Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.AuditResult }));
        using (var stored = JsonDocument.Parse(record.Payload!.Value))
        {
            AssertAttributed(stored.RootElement);
        }

        var readBack = SegmentController.Audits.AuditReportJson.Read(record.Payload!.Value, record.Index);
        Assert.Equal(new SegmentController.Core.Audits.AuditRecorder("audra", "api-key"), readBack.RecordedBy);
        Assert.Equal("alice", readBack.ExternalAuditor);
        var action = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction })
            .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement)
            .Single(a => a.GetProperty("action").GetString() == "audit-record");
        Assert.Equal("audra", action.GetProperty("actor").GetString());
        Assert.Equal("api-key", action.GetProperty("auth").GetString());
        Assert.Equal("alice", action.GetProperty("external_auditor").GetString());
        Assert.False(action.TryGetProperty("auditor", out _));

        // Two different names for the auditor are refused, not one of them picked.
        using var conflicting = await api.PostAsync(
            new Uri("api/v1/audits/external", UriKind.Relative),
            new StringContent("""{"client": "alpha", "result": "pass", "auditor": "alice", "external_auditor": "Ext Audit Co", "summary": "x"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, conflicting.StatusCode);
    }

    private static void AssertAttributed(JsonElement report)
    {
        Assert.Equal("audra", report.GetProperty("recorded_by").GetProperty("name").GetString());
        Assert.Equal("api-key", report.GetProperty("recorded_by").GetProperty("auth").GetString());
        Assert.Equal("alice", report.GetProperty("external_auditor").GetString());
        var check = report.GetProperty("checks")[0];
        Assert.Equal("external audit recorded by audra", check.GetProperty("name").GetString());
        Assert.Equal("annual ISO 27001 surveillance audit (external auditor, as stated by the recorder: alice)", check.GetProperty("detail").GetString());
    }

    private static async Task<(int Code, string Output, string Error)> CliAsync(EvidenceSite site, string user, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SegmentController.Cli.CliApplication.InvokeAsync([.. args, "--url", site.Url.ToString(), "--api-key", site.Keys[user]], output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
