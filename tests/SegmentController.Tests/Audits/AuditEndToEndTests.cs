using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Audits;

/// <summary>
/// Audits in <c>segctl run</c> end to end: the real host, the real SQLite store, snmpsimd serving the
/// switch's VLAN table, the real suspension engine, the operator API and the CLI over HTTP.
/// </summary>
public sealed class AuditEndToEndTests(AuditSwitchAgent agent) : IClassFixture<AuditSwitchAgent>
{
    [Fact]
    public async Task CleanSite_AuditPasses_RecordedPassLetsRestoreThroughAndSurvivesRestart()
    {
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions { AlphaUpstream = true, ProxyCertificate = true });
        using var alice = site.Client("alice");
        using (var suspended = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("drill")))
        {
            Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
        }

        // The policy wants a passing audit since the trip before anyone may lift it.
        using (var refused = await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("drill over")))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("passing audit", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var report = await site.RunAuditAsync();
        var id = report.GetProperty("id").GetString()!;
        Assert.Equal("pass", report.GetProperty("result").GetString());
        Assert.All(report.GetProperty("clients").EnumerateArray(), c => Assert.Equal("pass", c.GetProperty("outcome").GetString()));
        var checks = report.GetProperty("checks").EnumerateArray().ToArray();
        Assert.Contains(checks, c => c.GetProperty("name").GetString() == "switch qbridge-sw1 isolation" && c.GetProperty("outcome").GetString() == "pass");
        Assert.Contains(checks, c => c.GetProperty("name").GetString() == "proxy route alpha/crm" && c.GetProperty("outcome").GetString() == "pass");
        Assert.Contains(checks, c => c.GetProperty("name").GetString() == "proxy listener TLS" && c.GetProperty("outcome").GetString() == "pass");
        Assert.Contains(checks, c => c.GetProperty("source").GetString() == "store" && c.GetProperty("outcome").GetString() == "pass");
        Assert.Contains(checks, c => c.GetProperty("source").GetString() == "policy" && c.GetProperty("outcome").GetString() == "pass");

        // On record in the chain, at the index the report names.
        var record = Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.AuditResult }));
        Assert.Equal(report.GetProperty("record_index").GetInt64(), record.Index);
        Assert.Equal("alpha,bravo", record.Clients);

        using (var restored = await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("drill over, audit passed")))
        {
            Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        }

        var alpha = await site.StatusOfAsync("alpha");
        Assert.Equal("active", alpha.GetProperty("state").GetString());
        Assert.Equal(id, alpha.GetProperty("last_audit").GetProperty("id").GetString());
        Assert.Equal("pass", alpha.GetProperty("last_audit").GetProperty("outcome").GetString());
        Assert.Equal(JsonValueKind.String, alpha.GetProperty("last_passing_audit").ValueKind);
        var metrics = await site.MetricsAsync();
        Assert.Contains("segctl_audit_last_result{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_audit_last_result{client=\"bravo\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_audit_last_timestamp_seconds{client=\"alpha\"}", metrics, StringComparison.Ordinal);

        // After a restart the report is read back from the chain: shown, listed, and in status.
        await site.RestartAsync();
        var shown = await site.GetAsync("val", $"api/v1/audits/{id}");
        Assert.Equal("pass", shown.GetProperty("result").GetString());
        Assert.Equal(report.GetProperty("record_index").GetInt64(), shown.GetProperty("record_index").GetInt64());
        await WaitUntilAsync(async () => (await site.StatusOfAsync("bravo")).GetProperty("last_audit") is { ValueKind: JsonValueKind.Object } last
            && last.GetProperty("id").GetString() == id);
        var listed = await site.GetAsync("val", "api/v1/audits");
        Assert.Equal(id, listed.GetProperty("audits")[0].GetProperty("id").GetString());

        var verified = await site.GetAsync("audra", "api/v1/log/verify");
        Assert.True(verified.GetProperty("intact").GetBoolean(), verified.ToString());
    }

    [Fact]
    public async Task VlanTableBreaksIsolation_AuditFails_FindingSuspensionIncidentAndRecord()
    {
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions { CleanPorts = false });
        // The poller sees it too, but the policy has it only alert: nothing is suspended before the audit.
        Assert.Equal("active", (await site.StatusOfAsync("alpha")).GetProperty("state").GetString());

        var report = await site.RunAuditAsync();
        var id = report.GetProperty("id").GetString()!;
        Assert.Equal("fail", report.GetProperty("result").GetString());
        var alphaResult = report.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("client").GetString() == "alpha");
        Assert.Equal("fail", alphaResult.GetProperty("outcome").GetString());
        // Alpha's port ge-0/0/4 is an access port of bravo's VLAN, where it learned a MAC of bravo's VLAN.
        var failing = alphaResult.GetProperty("failing_checks").EnumerateArray().ToArray();
        Assert.All(failing, f => Assert.Equal("snmp", f.GetProperty("source").GetString()));
        Assert.Equal(
            ["switch qbridge-sw1 port ge-0/0/4 foreign-mac", "switch qbridge-sw1 port ge-0/0/4 port-vlan-mismatch"],
            failing.Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));

        // audit-failed → the finding pipeline → alpha suspended with trigger audit.
        var alpha = await site.StatusOfAsync("alpha");
        Assert.Equal("suspended", alpha.GetProperty("state").GetString());
        Assert.Equal("audit", alpha.GetProperty("suspension").GetProperty("trigger").GetString());
        Assert.Equal("audit-failed", alpha.GetProperty("suspension").GetProperty("rule").GetString());
        Assert.Equal(JsonValueKind.Null, alpha.GetProperty("last_passing_audit").ValueKind);
        Assert.Equal("fail", alpha.GetProperty("last_audit").GetProperty("outcome").GetString());
        var findings = await site.GetAsync("val", "api/v1/findings?client=alpha");
        var raised = Assert.Single(findings.GetProperty("findings").EnumerateArray(), f => f.GetProperty("rule").GetString() == "audit-failed");
        Assert.Equal("audit", raised.GetProperty("source").GetString());
        Assert.Equal("critical", raised.GetProperty("severity").GetString());
        Assert.Contains(id, raised.GetProperty("summary").GetString(), StringComparison.Ordinal);

        // The incident the critical finding opens (or joins: the poller's foreign-mac on alpha's port opened one
        // for alpha) carries the suspension as a measure taken.
        await WaitUntilAsync(async () => (await site.GetAsync("val", "api/v1/incidents")).GetProperty("incidents").EnumerateArray().Any(i =>
            i.GetProperty("findings").EnumerateArray().Any(f => f.GetProperty("rule").GetString() == "audit-failed")
            && i.GetProperty("clients").EnumerateArray().Any(c => c.GetString() == "alpha")
            && i.GetProperty("measures_taken").GetArrayLength() > 0));

        // On record: the audit result and the finding.
        var results = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.AuditResult }).ToArray();
        using (var payload = JsonDocument.Parse(Assert.Single(results).Payload!.Value))
        {
            Assert.Equal(id, payload.RootElement.GetProperty("id").GetString());
            Assert.Equal("fail", payload.RootElement.GetProperty("results").GetProperty("alpha").GetString());
        }

        Assert.Contains(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Finding, Client = "alpha" }),
            r => Encoding.UTF8.GetString(r.Payload!.Value.Span).Contains("\"audit-failed\"", StringComparison.Ordinal));
        // Once alpha's suspension is enforced (its port stage's results, refusals included, on record), the
        // export holds every record of the trip.
        await WaitUntilAsync(() => Task.FromResult(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Suspension, Client = "alpha" })
            .Any(r => Encoding.UTF8.GetString(r.Payload!.Value.Span).Contains("\"enforced\"", StringComparison.Ordinal))));

        // Exportable for the client's auditor with the rest of its records: the finding its failure raised in
        // full; the report, which covers bravo too, withheld (counted, its type given), and alpha's own view of
        // it in full — alpha's outcome and failing check, bravo's VLAN and name redacted.
        using (var auditor = site.Client("audra"))
        {
            var text = await auditor.GetStringAsync(new Uri("api/v1/log/export?client=alpha", UriKind.Relative));
            var export = text.Split('\n');
            Assert.Contains(export, l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) && l.Contains("\"audit-failed\"", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal));
            Assert.Contains(export, l => l.Contains("\"type\":\"audit-result\",\"withheld\":true", StringComparison.Ordinal));
            using (var line = JsonDocument.Parse(Assert.Single(export, l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) && l.Contains("\"type\":\"audit-view\"", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal))))
            {
                var view = line.RootElement.GetProperty("payload");
                Assert.Equal("fail", Assert.Single(view.GetProperty("results").EnumerateObject()).Value.GetString());
                var check = Assert.Single(view.GetProperty("checks").EnumerateArray(), c => c.GetProperty("outcome").GetString() == "fail" && c.GetProperty("name").GetString()!.EndsWith("port-vlan-mismatch", StringComparison.Ordinal));
                Assert.Equal("switch qbridge-sw1 port ge-0/0/4 port-vlan-mismatch", check.GetProperty("name").GetString());
                Assert.Contains("another client", check.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            Assert.DoesNotContain("bravo", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("VLAN 20", text, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.120.", text, StringComparison.Ordinal);
        }

        var metrics = await site.MetricsAsync();
        Assert.Contains("segctl_audit_last_result{client=\"alpha\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_killswitch_trips_total{client=\"alpha\",trigger=\"audit\"} 1", metrics, StringComparison.Ordinal);

        // Still suspended, a restore is refused: no passing audit since the trip.
        using var alice = site.Client("alice");
        using var refused = await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("looks fine to me"));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
    }

    [Fact]
    public async Task SuspendOnFailureOff_FailedAuditRaisesFindingButSuspendsNobody()
    {
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions { CleanPorts = false, SuspendOnFailure = false });

        var report = await site.RunAuditAsync("alpha");

        Assert.Equal("fail", report.GetProperty("result").GetString());
        var findings = await site.GetAsync("val", "api/v1/findings?client=alpha");
        Assert.Contains(findings.GetProperty("findings").EnumerateArray(), f => f.GetProperty("rule").GetString() == "audit-failed");
        Assert.Equal("active", (await site.StatusOfAsync("alpha")).GetProperty("state").GetString());
        Assert.DoesNotMatch("trigger=\"audit\"\\} [1-9]", await site.MetricsAsync());
    }

    [Fact]
    public async Task UnreachableSwitch_Indeterminate_NotAPass_NothingRecordedForRestore_CliExitsOne()
    {
        await using var site = await AuditSite.StartAsync(FreePort.Udp(), new AuditSiteOptions { SwitchTimeout = "300ms" });

        var (code, output, error) = await site.CliAsync("audra", "audit", "run");

        Assert.Equal(CliApplication.ExitViolations, code);
        Assert.Contains("INDETERMINATE", output, StringComparison.Ordinal);
        Assert.Contains("no evidence: switch qbridge-sw1 reachable", output, StringComparison.Ordinal);
        Assert.Contains("snmp: qbridge-sw1 did not answer", error, StringComparison.Ordinal);
        var id = (await site.GetAsync("val", "api/v1/audits")).GetProperty("audits")[0].GetProperty("id").GetString()!;
        var report = await site.GetAsync("val", $"api/v1/audits/{id}");
        foreach (var client in report.GetProperty("clients").EnumerateArray())
        {
            Assert.Equal("indeterminate", client.GetProperty("outcome").GetString());
            Assert.Contains(client.GetProperty("missing_evidence").EnumerateArray(), m => m.GetProperty("name").GetString() == "switch qbridge-sw1 reachable");
        }

        // Neither a pass (nothing for restores) nor a failure (no finding, no trip).
        var alpha = await site.StatusOfAsync("alpha");
        Assert.Equal("active", alpha.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, alpha.GetProperty("last_passing_audit").ValueKind);
        Assert.Equal("indeterminate", alpha.GetProperty("last_audit").GetProperty("outcome").GetString());
        var findings = await site.GetAsync("val", "api/v1/findings");
        Assert.DoesNotContain(findings.GetProperty("findings").EnumerateArray(), f => f.GetProperty("rule").GetString() == "audit-failed");
        Assert.Contains("segctl_audit_last_result{client=\"alpha\"} -1", await site.MetricsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CaptureNotRunningAndProxyStopped_Indeterminate()
    {
        var missing = $"segaud{Guid.NewGuid().ToString("N")[..6]}";
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions { AlphaUpstream = true, CaptureInterface = missing });

        var report = await site.RunAuditAsync();

        var clients = report.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("client").GetString()!);
        Assert.All(clients.Values, c => Assert.Equal("indeterminate", c.GetProperty("outcome").GetString()));
        var alphaMissing = clients["alpha"].GetProperty("missing_evidence").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToArray();
        Assert.Contains("capture running", alphaMissing);
        Assert.Contains("proxy running", alphaMissing);
        Assert.DoesNotContain("proxy running", clients["bravo"].GetProperty("missing_evidence").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task AuditApi_RolesBadBodiesStreamingListAndShow()
    {
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions());
        using var viewer = site.Client("val");
        using var auditor = site.Client("audra");
        using (var forbidden = await viewer.PostAsync("api/v1/audits", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        using (var unknown = await auditor.PostAsync("api/v1/audits", AuditSite.Json(new() { ["client"] = "zeta" })))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        }

        using (var wrongType = await auditor.PostAsync("api/v1/audits", new StringContent("{\"client\":5}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        }

        using (var malformed = await auditor.PostAsync("api/v1/audits", new StringContent("{\"client\":", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        }

        using (var huge = await auditor.PostAsync("api/v1/audits", new StringContent("{\"client\":\"" + new string('a', 100_000) + "\"}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        }

        // Streamed: progress while the evidence is gathered, then the report.
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/audits?client=bravo");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        using var streamed = await auditor.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal("application/x-ndjson", streamed.Content.Headers.ContentType?.MediaType);
        var lines = (await streamed.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("\"progress\":\"snmp: inventorying 1 switch(es)\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("store: verifying the evidence chain", StringComparison.Ordinal));
        using var last = JsonDocument.Parse(lines[^1]);
        var report = last.RootElement.GetProperty("report");
        var id = report.GetProperty("id").GetString()!;
        Assert.Equal("bravo", Assert.Single(report.GetProperty("clients").EnumerateArray()).GetProperty("client").GetString());

        var list = await site.GetAsync("val", "api/v1/audits?client=bravo");
        Assert.Equal(id, Assert.Single(list.GetProperty("audits").EnumerateArray()).GetProperty("id").GetString());
        Assert.Empty((await site.GetAsync("val", "api/v1/audits?client=alpha")).GetProperty("audits").EnumerateArray());
        Assert.Equal(id, (await site.GetAsync("val", $"api/v1/audits/{id}")).GetProperty("id").GetString());
        using (var missing = await viewer.GetAsync("api/v1/audits/AUD-19700101-000000-0000"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var hostile = await viewer.GetAsync("api/v1/audits/" + new string('x', 5000)))
        {
            Assert.Equal(HttpStatusCode.NotFound, hostile.StatusCode);
        }

        // Who ran it is on record.
        Assert.Contains(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction }), r =>
        {
            var text = Encoding.UTF8.GetString(r.Payload!.Value.Span);
            return text.Contains("\"audit-run\"", StringComparison.Ordinal) && text.Contains("\"audra\"", StringComparison.Ordinal) && text.Contains(id, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Cli_RunShowsProgressAndTable_JsonShowListAndErrors()
    {
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions());

        var (code, output, error) = await site.CliAsync("audra", "audit", "run");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains("audit: gathering evidence for every client", error, StringComparison.Ordinal);
        Assert.Contains("snmp: qbridge-sw1 inventoried", error, StringComparison.Ordinal);
        Assert.Contains(": PASS", output, StringComparison.Ordinal);
        Assert.Matches("(?m)^alpha +pass +-$", output);
        Assert.Matches("(?m)^snmp +switch qbridge-sw1 isolation +all +pass ", output);

        (code, output, _) = await site.CliAsync("audra", "audit", "run", "--client", "bravo", "--json");
        Assert.Equal(CliApplication.ExitClean, code);
        string id;
        using (var report = JsonDocument.Parse(output))
        {
            Assert.Equal("bravo", Assert.Single(report.RootElement.GetProperty("clients").EnumerateArray()).GetProperty("client").GetString());
            id = report.RootElement.GetProperty("id").GetString()!;
        }

        (code, output, _) = await site.CliAsync("val", "audit", "show", id);
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains(id, output, StringComparison.Ordinal);
        (code, output, _) = await site.CliAsync("val", "audit", "list");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains(id, output, StringComparison.Ordinal);

        // A viewer may not run one; unknown ids and clients are errors.
        (code, _, error) = await site.CliAsync("val", "audit", "run");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("403", error, StringComparison.Ordinal);
        (code, _, _) = await site.CliAsync("val", "audit", "show", "AUD-19700101-000000-0000");
        Assert.Equal(CliApplication.ExitError, code);
        (code, _, error) = await site.CliAsync("audra", "audit", "run", "--client", "no such");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("not a client id", error, StringComparison.Ordinal);

        // The real executable, as an operator runs it from a shell.
        var (exit, stdout, stderr) = await SegctlProcess.RunAsync("audit", "run", "--client", "alpha", "--url", site.Url.ToString(), "--api-key", site.Keys["audra"]);
        Assert.True(exit == CliApplication.ExitClean, stderr);
        Assert.Matches("(?m)^alpha +pass +-$", stdout);
        Assert.Contains("snmp: qbridge-sw1 inventoried", stderr, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(100);
        }
    }
}
