using System.Net;
using System.Text;
using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Evidence;

namespace SegmentController.Tests.Incidents;

/// <summary>
/// An operator's incident from open to close through the real API and CLI of a controller built as
/// <c>segctl run</c> builds it, with the client's SOC a real HTTPS receiver; then the notice report read
/// from the store file; and a notice not given before a restart given after it.
/// </summary>
public sealed class IncidentWorkflowTests
{
    [Fact]
    public async Task OperatorOpensAnnotatesAssessesCloses_EachStepOnRecordWithItsActor_ReportCarriesEveryField()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-incident-flow-").FullName);
        await using var receiver = await NoticeReceiver.StartAsync(site.Directory);
        Configure(site, receiver);
        await site.StartAsync();

        var (code, output, error) = await CliAsync(site, "alice", "incident", "open", "--client", "alpha", "--nature", "laptop with alpha's call recordings stolen from the floor", "--reason", "reported by the floor manager");
        Assert.True(code == 0, error);
        var id = output.Split(' ')[1];
        Assert.StartsWith("INC-", id, StringComparison.Ordinal);
        Assert.Contains("alpha: notice due by", output, StringComparison.Ordinal);
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(receiver.Received.Any(r => r.Path == "alpha-soc")), "alpha's notice");
        Assert.Contains("segctl_incidents_open{client=\"alpha\"} 1", await site.MetricsAsync(), StringComparison.Ordinal);

        // The suspension that follows is linked as a measure.
        Assert.Equal(0, (await CliAsync(site, "alice", "suspend", "alpha", "--reason", "until the laptop is found")).Code);
        (code, _, error) = await CliAsync(site, "audra", "incident", "note", id, "--text", "laptop was logged out; disk encrypted");
        Assert.True(code == 0, error);
        (code, output, error) = await CliAsync(site, "alice", "incident", "consequences", id, "--text", "names and call audio of up to 40 customers if the disk is opened");
        Assert.True(code == 0, error);
        Assert.Contains("likely consequences: names and call audio", output, StringComparison.Ordinal);

        // Viewers read only; unknown ids and unknown clients are errors.
        Assert.Equal(2, (await CliAsync(site, "val", "incident", "close", id, "--reason", "x")).Code);
        Assert.Equal(2, (await CliAsync(site, "alice", "incident", "close", "INC-20000101-000000-999", "--reason", "x")).Code);
        Assert.Equal(2, (await CliAsync(site, "alice", "incident", "open", "--client", "nobody", "--nature", "x")).Code);
        using (var alice = site.Client("alice"))
        {
            using var empty = await alice.PostAsync("api/v1/incidents", Json("""{"nature":"x","clients":[]}"""));
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
            using var noBody = await alice.PutAsync($"api/v1/incidents/{id}/consequences", Json("""{"text":"wrong field"}"""));
            Assert.Equal(HttpStatusCode.BadRequest, noBody.StatusCode);
        }

        using (var viewer = site.Client("val"))
        {
            using var forbidden = await viewer.PostAsync("api/v1/incidents", Json("""{"nature":"x","clients":["alpha"]}"""));
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        (code, _, error) = await CliAsync(site, "alice", "incident", "close", id, "--reason", "laptop recovered, disk not opened");
        Assert.True(code == 0, error);
        Assert.Contains("segctl_incidents_open{client=\"alpha\"} 0", await site.MetricsAsync(), StringComparison.Ordinal);
        (code, _, error) = await CliAsync(site, "alice", "incident", "close", id, "--reason", "again");
        Assert.Equal(2, code);
        Assert.Contains("closed already", error, StringComparison.Ordinal);
        await site.StopAsync();

        // Who did what, and why, is on record; the incident's last snapshot has it all.
        var actions = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction })
            .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement.Clone())
            .Where(a => a.GetProperty("action").GetString()!.StartsWith("incident-", StringComparison.Ordinal))
            .Select(a => (Action: a.GetProperty("action").GetString(), Actor: a.GetProperty("actor").GetString(), Reason: a.GetProperty("reason").GetString()))
            .ToArray();
        Assert.Equal(
            [
                ("incident-open", "alice", "reported by the floor manager"),
                ("incident-note", "audra", "laptop was logged out; disk encrypted"),
                ("incident-consequences", "alice", "names and call audio of up to 40 customers if the disk is opened"),
                ("incident-close", "alice", "laptop recovered, disk not opened"),
            ],
            actions);
        var last = IncidentJson.Read(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.IncidentEvent })[^1].Payload!.Value);
        Assert.Equal(IncidentStatus.Closed, last.Status);
        Assert.Contains(last.Timeline, e => e.Text == "closed by alice: laptop recovered, disk not opened");
        Assert.Contains(last.Timeline, e => e.Text.StartsWith("alice: names and call audio", StringComparison.Ordinal));

        // The report an auditor reads, from the store file: Markdown with every field the standards ask for…
        (code, output, error) = await CliAsync(null, null, "incident", "report", id, "--store", site.StorePath);
        Assert.True(code == 0, error);
        foreach (var expected in new[]
        {
            $"# Security incident {id}", "**Status:** closed", "**Nature:** laptop with alpha's call recordings stolen from the floor",
            "**Clients concerned:** alpha", "**Opened by:** alice", "**Detected at:** ", "**Notice due at:** ", "(detection + 8 hours)",
            "**Notice given at:** ", "(on time)", "**Approximate number of records concerned:** about 0",
            "**Likely consequences:** names and call audio of up to 40 customers if the disk is opened",
            "## Notice per client", "- alpha: detected ", "## Measures taken", "suspended alpha", "## Investigation notes",
            "audra: laptop was logged out; disk encrypted", "## Findings", "None (opened by an operator).", "## Notifications",
            "alpha-soc <https://127.0.0.1:", "attempt 1: delivered (HTTP 200)", "## Timeline", "[closed] closed by alice",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        // …and JSON with the same fields.
        (code, output, _) = await CliAsync(null, null, "incident", "report", id, "--store", site.StorePath, "--json");
        Assert.Equal(0, code);
        using (var report = JsonDocument.Parse(output))
        {
            var root = report.RootElement;
            Assert.Equal(id, root.GetProperty("id").GetString());
            Assert.Equal("closed", root.GetProperty("status").GetString());
            Assert.Equal("alice", root.GetProperty("opened_by").GetString());
            Assert.Equal(["alpha"], root.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
            var detected = root.GetProperty("detected_at").GetDateTimeOffset();
            Assert.Equal(detected.AddHours(8), root.GetProperty("notice_due_at").GetDateTimeOffset());
            Assert.True(root.GetProperty("notice_given_at").GetDateTimeOffset() <= detected.AddHours(8));
            var notice = Assert.Single(root.GetProperty("notices").EnumerateArray());
            Assert.Equal("alpha", notice.GetProperty("client").GetString());
            Assert.Equal(JsonValueKind.String, notice.GetProperty("given_at").ValueKind);
            Assert.Equal(0, root.GetProperty("approximate_records_concerned").GetInt64());
            Assert.Equal(0, root.GetProperty("records_concerned").GetProperty("alpha").GetInt64());
            Assert.Equal(JsonValueKind.String, root.GetProperty("window_start").ValueKind);
            Assert.StartsWith("names and call audio", root.GetProperty("likely_consequences").GetString(), StringComparison.Ordinal);
            Assert.Single(root.GetProperty("investigation_notes").EnumerateArray());
            Assert.Contains(root.GetProperty("measures_taken").EnumerateArray(), m => m.GetProperty("text").GetString()!.StartsWith("suspended alpha", StringComparison.Ordinal));
            Assert.Equal(0, root.GetProperty("findings").GetArrayLength());
            var attempt = Assert.Single(root.GetProperty("notifications").EnumerateArray());
            Assert.Equal("alpha", attempt.GetProperty("client").GetString());
            Assert.True(attempt.GetProperty("delivered").GetBoolean());
            Assert.True(root.GetProperty("timeline").GetArrayLength() >= 6);
            Assert.Equal(JsonValueKind.String, root.GetProperty("updated_at").ValueKind);
        }

        // No such incident: an error, like an unknown audit.
        (code, _, error) = await CliAsync(null, null, "incident", "report", "INC-20000101-000000-999", "--store", site.StorePath);
        Assert.Equal(2, code);
        Assert.Contains("no incident INC-20000101-000000-999", error, StringComparison.Ordinal);
        Assert.True(StoreVerifier.Verify(site.StorePath, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task NoticeNotGivenBeforeARestart_GivenAfterIt()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-incident-resume-").FullName);
        await using var receiver = await NoticeReceiver.StartAsync(site.Directory);
        receiver.Refusing = true;
        Configure(site, receiver);
        await site.StartAsync();

        string id;
        using (var alice = site.Client("alice"))
        {
            using var opened = await alice.PostAsync("api/v1/incidents", Json("""{"nature":"tailgating into alpha's room","clients":["alpha"]}"""));
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
            using var body = JsonDocument.Parse(await opened.Content.ReadAsStringAsync());
            id = body.RootElement.GetProperty("id").GetString()!;
        }

        var manager = site.Service<IncidentManager>();
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(manager.Incidents.Single().Notifications.Count >= 1), "a refused attempt on record");
        var due = await NoticeDueAsync(site);
        Assert.True(due > 0);
        await site.StopAsync();

        // An incident record this version cannot read (another version's, say) is passed over: the others come back.
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = site.StorePath }, TimeProvider.System, CancellationToken.None))
        {
            await store.AppendAsync(RecordTypes.IncidentEvent, "alpha", Encoding.UTF8.GetBytes("""{"event":"opened","id":"INC-20990101-000000-001"}"""), CancellationToken.None);
        }

        receiver.Refusing = false;
        await site.StartAsync();
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(receiver.Received.Any(r => r.Path == "alpha-soc")), "the notice, resumed after the restart");
        await EvidenceSite.WaitUntilAsync(async () => await NoticeDueAsync(site) == 0, "no notice due any more");
        var incident = site.Service<IncidentManager>().Incidents.Single(i => i.Id == id);
        Assert.NotNull(incident.NoticeGivenAt);
        Assert.True(incident.Notifications[^1].Delivered);
        Assert.Equal(incident.Notifications.Count, incident.Notifications[^1].Attempt);
        var received = Encoding.UTF8.GetString(receiver.Received.First(r => r.Path == "alpha-soc").Body);
        Assert.Contains(id, received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IncidentClosedBeforeItsNoticeReachedTheClient_DeadlineStaysOnTheMetricUntilGiven()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-incident-closed-").FullName);
        await using var receiver = await NoticeReceiver.StartAsync(site.Directory);
        receiver.Refusing = true;
        Configure(site, receiver);
        await site.StartAsync();

        var (code, output, error) = await CliAsync(site, "alice", "incident", "open", "--client", "alpha", "--nature", "badge cloned at alpha's floor door");
        Assert.True(code == 0, error);
        var id = output.Split(' ')[1];
        var manager = site.Service<IncidentManager>();
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(manager.Incidents.Single().Notifications.Count >= 1), "a refused attempt on record");
        var due = await NoticeDueAsync(site);
        Assert.True(due > 0);

        // Closed (a false alarm, say) while alpha's SOC still refuses: alpha is owed its notice all the same.
        (code, _, error) = await CliAsync(site, "alice", "incident", "close", id, "--reason", "badge was the guard's spare");
        Assert.True(code == 0, error);
        Assert.Contains("segctl_incidents_open{client=\"alpha\"} 0", await site.MetricsAsync(), StringComparison.Ordinal);
        Assert.Equal(due, await NoticeDueAsync(site));

        receiver.Refusing = false;
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(receiver.Received.Any(r => r.Path == "alpha-soc")), "the notice of the closed incident");
        await EvidenceSite.WaitUntilAsync(async () => await NoticeDueAsync(site) == 0, "no notice due any more");
    }

    [Fact]
    public async Task ClientSuspendedWhileItsIncidentIsOpen_MeasureOnTheIncidentOnlyOnceMetricsShowTheClientSuspended()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-incident-measure-").FullName);
        await site.StartAsync();
        var (code, output, error) = await CliAsync(site, "alice", "incident", "open", "--client", "alpha", "--nature", "alpha's agent seen on beta's VLAN");
        Assert.True(code == 0, error);
        var id = output.Split(' ')[1];

        // The incident is read while the suspension is still being answered: once it shows the suspension
        // among its measures, a dashboard scraping /metrics finds alpha suspended too.
        using var alice = site.Client("alice");
        using var viewer = site.Client("val");
        var suspending = alice.PostAsync("api/v1/clients/alpha/suspend", Api.OperatorApiSite.Reason("agent on the wrong VLAN"));
        await EvidenceSite.WaitUntilAsync(
            async () => (await viewer.GetStringAsync($"api/v1/incidents/{id}")).Contains("suspended alpha", StringComparison.Ordinal),
            "the suspension among the measures of alpha's incident");
        var metrics = await site.MetricsAsync();
        Assert.True(
            metrics.Contains("segctl_client_suspended{client=\"alpha\"} 1", StringComparison.Ordinal),
            "alpha's incident has the suspension among its measures, /metrics has alpha not suspended: "
                + string.Join(' ', metrics.Split('\n').Where(l => l.StartsWith("segctl_client_suspended", StringComparison.Ordinal))));
        using (var suspended = await suspending)
        {
            Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
        }
    }

    [Fact]
    public async Task ClientWithoutAWebhook_NoticeGivenByTelephone_RecordedAndItsClockStops()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-incident-phone-").FullName);
        await using var receiver = await NoticeReceiver.StartAsync(site.Directory);
        Configure(site, receiver);
        await site.StartAsync();

        var (code, output, error) = await CliAsync(site, "alice", "incident", "open", "--client", "alpha", "--client", "beta", "--nature", "shared printer queue showed both clients' jobs");
        Assert.True(code == 0, error);
        var id = output.Split(' ')[1];
        var manager = site.Service<IncidentManager>();

        // The incident shows the notice given a moment before /metrics takes its deadline off.
        await EvidenceSite.WaitUntilAsync(
            async () => manager.Incidents.Single().NoticeFor("alpha")!.GivenAt is not null && await NoticeDueAsync(site, "alpha") == 0,
            "alpha's notice by webhook, its deadline off /metrics");
        var incident = manager.Incidents.Single();
        Assert.Null(incident.NoticeFor("beta")!.GivenAt);
        Assert.Null(incident.NoticeGivenAt);
        Assert.Contains(incident.Timeline, e => e.Text.StartsWith("beta: no contact with a webhook", StringComparison.Ordinal));
        Assert.True(await NoticeDueAsync(site, "beta") > 0);
        Assert.Equal(0, await NoticeDueAsync(site, "alpha"));
        Assert.Equal(1, (await CliAsync(site, "val", "incidents")).Code);

        (code, output, error) = await CliAsync(site, "alice", "incident", "notice", id, "--client", "beta", "--reason", "phoned Beta's SOC duty officer, J. Doe, 10:40");
        Assert.True(code == 0, error);
        Assert.Contains("beta: notice due by", output, StringComparison.Ordinal);
        incident = manager.Incidents.Single();
        Assert.NotNull(incident.NoticeFor("beta")!.GivenAt);
        Assert.NotNull(incident.NoticeGivenAt);
        Assert.Contains(incident.Timeline, e => e.Text == "beta: notice given by other means, recorded by alice: phoned Beta's SOC duty officer, J. Doe, 10:40");
        Assert.Equal(0, await NoticeDueAsync(site, "beta"));
        Assert.Equal(0, await NoticeDueAsync(site, "alpha"));

        // Given already, or not concerned: refused.
        Assert.Equal(2, (await CliAsync(site, "alice", "incident", "notice", id, "--client", "beta", "--reason", "again")).Code);
        Assert.Equal(2, (await CliAsync(site, "alice", "incident", "notice", id, "--client", "gamma", "--reason", "x")).Code);
        Assert.Equal(2, (await CliAsync(site, "val", "incident", "notice", id, "--client", "alpha", "--reason", "x")).Code);
    }

    [Fact]
    public async Task NoticeOrCloseAskedAgain_RefusedBeforeAnythingIsRecorded()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-incident-again-").FullName);
        await site.StartAsync();
        var (code, output, error) = await CliAsync(site, "alice", "incident", "open", "--client", "beta", "--nature", "beta's call recordings copied to a USB stick");
        Assert.True(code == 0, error);
        var id = output.Split(' ')[1];
        (code, _, error) = await CliAsync(site, "alice", "incident", "notice", id, "--client", "beta", "--reason", "phoned beta's SOC");
        Assert.True(code == 0, error);
        (code, _, error) = await CliAsync(site, "alice", "incident", "close", id, "--reason", "stick recovered, wiped");
        Assert.True(code == 0, error);
        var actions = OperatorActions(site);

        using (var alice = site.Client("alice"))
        {
            using var notice = await alice.PostAsync($"api/v1/incidents/{id}/notice", Json("""{"client":"beta","reason":"phoned beta's SOC again"}"""));
            Assert.Equal(HttpStatusCode.Conflict, notice.StatusCode);
            Assert.Contains("had notice", await notice.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var close = await alice.PostAsync($"api/v1/incidents/{id}/close", Json("""{"reason":"closing again"}"""));
            Assert.Equal(HttpStatusCode.Conflict, close.StatusCode);
        }

        // Neither refused request left a record saying it was asked for as if it had been done.
        Assert.Equal(actions, OperatorActions(site));
        var incident = site.Service<IncidentManager>().Incidents.Single(i => i.Id == id);
        Assert.Single(incident.Timeline, e => e.Text.StartsWith("beta: notice given by other means", StringComparison.Ordinal));
    }

    private static int OperatorActions(EvidenceSite site) =>
        StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction }).Count;

    private static void Configure(EvidenceSite site, NoticeReceiver receiver)
    {
        File.WriteAllText(Path.Combine(site.Directory, "alpha-hook.key"), "alpha-webhook-key\n");
        site.ControllerExtra = $"\n  proxy:\n    upstream_ca: {receiver.CertificatePath}";
        site.ClientExtra["alpha"] = $"""

                notify:
                  - name: alpha-soc
                    webhook:
                      url: "{new Uri(receiver.BaseUrl, "alpha-soc")}"
                      secret:
                        file: {Path.Combine(site.Directory, "alpha-hook.key")}
            """;
        site.WritePolicy();
    }

    private static async Task<double> NoticeDueAsync(EvidenceSite site, string client = "alpha")
    {
        var pattern = "^segctl_incident_notice_due_timestamp_seconds\\{client=\"" + client + "\"\\} (\\S+)$";
        var match = System.Text.RegularExpressions.Regex.Match(await site.MetricsAsync(), pattern, System.Text.RegularExpressions.RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<(int Code, string Output, string Error)> CliAsync(EvidenceSite? site, string? user, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] all = site is null ? args : [.. args, "--url", site.Url.ToString(), "--api-key", site.Keys[user!]];
        var code = await CliApplication.InvokeAsync(all, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
