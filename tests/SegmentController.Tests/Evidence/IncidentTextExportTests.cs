using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// What operators and auditors write on an incident or an external audit of one client alone, on a real
/// <c>segctl run</c>: where it names another client, the client's evidence export shows its view of it and
/// withholds the record kept as written; the site's export, the API and the controller after a restart keep
/// the words as typed. Where it names none, the records are what they always were.
/// </summary>
public sealed class IncidentTextExportTests : IDisposable
{
    private const string Nature = "traffic from beta (Beta Telecom) 127.0.120.11 reached alpha on VLAN 120";
    private const string Note = "Beta Telecom's agent at 127.0.120.12 confirmed the flow";
    private const string Consequences = "alpha's CRM records read from beta's 127.0.120.11";
    private const string NoticeHow = "phoned alpha's SOC, told them of BETA's desk 127.0.120.11";
    private const string CloseReason = "beta re-patched 127.0.120.11 off VLAN 120";
    private const string AuditSummary = "alpha's floor checked: beta's 127.0.120.0/24 unreachable from VLAN 110";
    private const string Auditor = "Beta Telecom assessors";
    private const string PlainNature = "badge cloned at alpha's floor door";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-incident-text-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task OneClientIncidentAndAudit_TextNamesAnotherClient_ClientsExportShowsItsViewAndVerifies_SiteApiAndRestartKeepTheWords()
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alice"] = OperatorApiSite.NewKey(),
            ["audra"] = OperatorApiSite.NewKey(),
            ["val"] = OperatorApiSite.NewKey(),
        };
        var keysFile = Path.Combine(_dir, "api-keys");
        OperatorApiSite.WriteKeys(keysFile, keys, ("alice", "operator"), ("audra", "auditor"), ("val", "viewer"));
        var policy = TestSite.WritePolicy(_dir, apiKeysFile: keysFile);

        string id, plain, audit;
        await using (var segctl = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
            id = await OpenAsync(management, keys["alice"], Nature);
            await CliAsync(management, keys["alice"], "incident", "note", id, "--text", Note);
            await CliAsync(management, keys["alice"], "incident", "consequences", id, "--text", Consequences);
            await CliAsync(management, keys["alice"], "incident", "notice", id, "--client", "alpha", "--reason", NoticeHow);

            // Counts and clocks are the incident's clients', whatever its record is keyed to.
            var metrics = await GetAsync(management, null, "metrics");
            Assert.Contains("segctl_incidents_open{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incidents_open{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incident_notice_due_timestamp_seconds{client=\"beta\"} 0", metrics, StringComparison.Ordinal);

            await CliAsync(management, keys["alice"], "incident", "close", id, "--reason", CloseReason);
            plain = await OpenAsync(management, keys["alice"], PlainNature);

            using (var auditor = Client(management, keys["audra"]))
            using (var recorded = await auditor.PostAsync(new Uri("api/v1/audits/external", UriKind.Relative), new StringContent(
                JsonSerializer.Serialize(new { client = "alpha", result = "pass", auditor = Auditor, summary = AuditSummary }), Encoding.UTF8, "application/json")))
            {
                var answer = await recorded.Content.ReadAsStringAsync();
                Assert.True(recorded.StatusCode == HttpStatusCode.Created, answer);
                using var body = JsonDocument.Parse(answer);
                audit = body.RootElement.GetProperty("id").GetString()!;
            }

            // The site sees the words as typed.
            AssertAsTyped(await GetAsync(management, keys["val"], $"api/v1/incidents/{id}"));
            AssertAuditAsTyped(await GetAsync(management, keys["val"], $"api/v1/audits/{audit}"));
            segctl.Signal(NativeMethods.SigTerm);
            Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        var store = Path.Combine(_dir, "segctl.db");

        // alpha's export: its view of the incident and of the audit, nothing of beta; the full records withheld.
        var alpha = await ClientExportFile.WriteAsync(store, "alpha", Path.Combine(_dir, "alpha.jsonl"));
        var alphaStrings = alpha.Lines.SelectMany(Strings).ToArray();
        foreach (var secret in new[] { "beta", "Telecom", "127.0.120.", "VLAN 120" })
        {
            Assert.DoesNotContain(secret, alpha.Text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(alphaStrings, s => s.Contains(secret, StringComparison.OrdinalIgnoreCase));
        }

        var records = alpha.Lines.Where(l => l.GetProperty("kind").GetString() == "record").ToArray();
        var views = records.Where(r => r.GetProperty("type").GetString() == RecordTypes.IncidentView
            && r.GetProperty("payload").GetProperty("id").GetString() == id).ToArray();
        Assert.NotEmpty(views);
        var view = views[^1].GetProperty("payload");
        Assert.Equal("traffic from another client (another client) [another client's address] reached alpha on VLAN [another client's VLAN]", view.GetProperty("nature").GetString());
        Assert.Equal("alpha's CRM records read from another client's [another client's address]", view.GetProperty("likely_consequences").GetString());
        Assert.Equal("alice: another client's agent at [another client's address] confirmed the flow", Assert.Single(view.GetProperty("investigation_notes").EnumerateArray()).GetProperty("text").GetString());
        var timeline = view.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("text").GetString()!).ToArray();
        Assert.Contains("closed by alice: another client re-patched [another client's address] off VLAN [another client's VLAN]", timeline);
        Assert.Contains("alpha: notice given by other means, recorded by alice: phoned alpha's SOC, told them of another client's desk [another client's address]", timeline);
        Assert.DoesNotContain(records, r => r.GetProperty("type").GetString() == RecordTypes.IncidentEvent && r.GetProperty("payload").GetProperty("id").GetString() == id);
        Assert.Equal(views.Length, alpha.Lines.Count(l => l.GetProperty("kind").GetString() == "link" && l.TryGetProperty("withheld", out _) && l.GetProperty("type").GetString() == RecordTypes.IncidentEvent));
        var auditView = Assert.Single(records, r => r.GetProperty("type").GetString() == RecordTypes.AuditView).GetProperty("payload");
        Assert.Equal(audit, auditView.GetProperty("id").GetString());
        Assert.Equal(
            "alpha's floor checked: another client's [another client's address]/24 unreachable from VLAN 110 (external auditor, as stated by the recorder: another client assessors)",
            auditView.GetProperty("checks")[0].GetProperty("detail").GetString());
        Assert.DoesNotContain(records, r => r.GetProperty("type").GetString() == RecordTypes.AuditResult);

        // An incident whose words name no other client is recorded as it always was: in full, under alpha's key, no view.
        var own = records.Where(r => r.GetProperty("type").GetString() == RecordTypes.IncidentEvent).Select(r => r.GetProperty("payload")).ToArray();
        Assert.NotEmpty(own);
        Assert.All(own, p => Assert.Equal(plain, p.GetProperty("id").GetString()));
        Assert.Equal(PlainNature, own[^1].GetProperty("nature").GetString());
        Assert.DoesNotContain(records, r => r.GetProperty("type").GetString() == RecordTypes.IncidentView && r.GetProperty("payload").GetProperty("id").GetString() == plain);
        Assert.All(StoreFile.Read(store, new RecordQuery { Type = RecordTypes.IncidentEvent }).Where(r => r.Payload!.Value.Span.IndexOf(Encoding.UTF8.GetBytes(plain)) >= 0), r => Assert.Equal("alpha", r.Clients));
        var (verified, report, error) = await ClientExportFile.SegctlAsync("log", "verify", "--export", alpha.Path);
        Assert.True(verified == 0, report + error);

        // beta's export learns that records concern it, not what they say.
        var beta = await ClientExportFile.WriteAsync(store, "beta", Path.Combine(_dir, "beta.jsonl"));
        var betaStrings = beta.Lines.SelectMany(Strings).ToArray();
        foreach (var secret in new[] { "Alpha Insurance", "127.0.120.11", "re-patched", "assessors", id, audit })
        {
            Assert.DoesNotContain(betaStrings, s => s.Contains(secret, StringComparison.Ordinal));
        }

        Assert.Contains(beta.Lines, l => l.GetProperty("kind").GetString() == "link" && l.TryGetProperty("withheld", out _) && l.GetProperty("type").GetString() == RecordTypes.IncidentEvent);

        (verified, report, error) = await ClientExportFile.SegctlAsync("log", "verify", "--export", beta.Path);
        Assert.True(verified == 0, report + error);

        // The site's export keeps every word as typed.
        var site = Path.Combine(_dir, "site.jsonl");
        var (exported, _, exportError) = await ClientExportFile.SegctlAsync("log", "export", "--store", store, "--out", site);
        Assert.True(exported == 0, exportError);
        var siteStrings = (await File.ReadAllLinesAsync(site)).SelectMany(l =>
        {
            using var line = JsonDocument.Parse(l);
            return Strings(line.RootElement).ToArray();
        }).ToArray();
        foreach (var typed in new[] { Nature, Note, Consequences, NoticeHow, CloseReason, AuditSummary, Auditor })
        {
            Assert.Contains(siteStrings, s => s.Contains(typed, StringComparison.Ordinal));
        }

        (verified, report, error) = await ClientExportFile.SegctlAsync("log", "verify", "--export", site);
        Assert.True(verified == 0, report + error);
        (verified, report, error) = await ClientExportFile.SegctlAsync("log", "verify", "--store", store);
        Assert.True(verified == 0, report + error);

        // After a restart the controller reads back the words as typed.
        await using (var segctl = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
            AssertAsTyped(await GetAsync(management, keys["val"], $"api/v1/incidents/{id}"));
            AssertAuditAsTyped(await GetAsync(management, keys["val"], $"api/v1/audits/{audit}"));
            var metrics = await GetAsync(management, null, "metrics");
            Assert.Contains("segctl_incidents_open{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incidents_open{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
            segctl.Signal(NativeMethods.SigTerm);
            Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
    }

    private static void AssertAsTyped(string incident)
    {
        using var document = JsonDocument.Parse(incident);
        var root = document.RootElement;
        Assert.Equal(Nature, root.GetProperty("nature").GetString());
        Assert.Equal(Consequences, root.GetProperty("likely_consequences").GetString());
        Assert.Equal($"alice: {Note}", Assert.Single(root.GetProperty("investigation_notes").EnumerateArray()).GetProperty("text").GetString());
        var timeline = root.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("text").GetString()!).ToArray();
        Assert.Contains($"closed by alice: {CloseReason}", timeline);
        Assert.Contains($"alpha: notice given by other means, recorded by alice: {NoticeHow}", timeline);
    }

    private static void AssertAuditAsTyped(string report)
    {
        using var document = JsonDocument.Parse(report);
        Assert.Equal(Auditor, document.RootElement.GetProperty("external_auditor").GetString());
        Assert.Contains(Strings(document.RootElement), s => s.StartsWith(AuditSummary, StringComparison.Ordinal));
    }

    /// <summary>Every string value in <paramref name="element"/>, as JSON escapes none of it.</summary>
    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        _ => [],
    };

    private static async Task<string> OpenAsync(Uri management, string key, string nature)
    {
        var output = await CliAsync(management, key, "incident", "open", "--client", "alpha", "--nature", nature);
        var id = output.Split(' ')[1];
        Assert.StartsWith("INC-", id, StringComparison.Ordinal);
        return id;
    }

    private static async Task<string> CliAsync(Uri management, string key, params string[] args)
    {
        var (exit, output, error) = await ClientExportFile.SegctlAsync([.. args, "--url", management.ToString(), "--api-key", key]);
        Assert.True(exit == 0, $"segctl {string.Join(' ', args)}: {exit}: {error}");
        return output;
    }

    private static async Task<string> GetAsync(Uri management, string? key, string path)
    {
        using var client = key is null ? new HttpClient { BaseAddress = management } : Client(management, key);
        return await client.GetStringAsync(new Uri(path, UriKind.Relative));
    }

    private static HttpClient Client(Uri management, string key)
    {
        var client = new HttpClient { BaseAddress = management };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
