using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// What operators type about one client (a suspension's reason, a restore's reasons) on a real <c>segctl run</c>:
/// the client's records, and so its evidence export, carry it as the client's view of it, naming no other
/// client; the controller's log keeps the words as written.
/// </summary>
public sealed class OperatorTextExportTests : IDisposable
{
    private const string SuspendReason = "cross-client traffic with beta (Beta Telecom) from 127.0.120.11";
    private const string RestoreReason = "beta confirmed 127.0.120.11 no longer reaches alpha";
    private const string ApproveReason = "checked with Beta Telecom";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-operator-text-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task SuspendAndRestoreThroughTheApi_ReasonsNameAnotherClient_ClientsExportNamesNoneAndVerifies_LogKeepsThem()
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alice"] = OperatorApiSite.NewKey(),
            ["bob"] = OperatorApiSite.NewKey(),
            ["carol"] = OperatorApiSite.NewKey(),
            ["val"] = OperatorApiSite.NewKey(),
        };
        var keysFile = Path.Combine(_dir, "api-keys");
        OperatorApiSite.WriteKeys(keysFile, keys, ("alice", "operator"), ("bob", "approver"), ("carol", "approver"), ("val", "viewer"));

        string log;
        await using (var segctl = SegctlProcess.Start("run", "--policy", TestSite.WritePolicy(_dir, apiKeysFile: keysFile), "--management-listen", "127.0.0.1:0"))
        {
            var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
            using var alice = Client(management, keys["alice"]);
            using (var opened = await alice.PostAsync(new Uri("api/v1/incidents", UriKind.Relative), new StringContent(
                """{"nature":"agent traffic under review","clients":["alpha"]}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
            }

            string suspension;
            using (var suspended = await alice.PostAsync(new Uri("api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason(SuspendReason)))
            {
                Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
                using var body = JsonDocument.Parse(await suspended.Content.ReadAsStringAsync());
                suspension = body.RootElement.GetProperty("suspension").GetProperty("id").GetString()!;
            }

            using (var requested = await alice.PostAsync(new Uri("api/v1/clients/alpha/restore", UriKind.Relative), OperatorApiSite.Reason(RestoreReason)))
            {
                Assert.True(requested.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, await requested.Content.ReadAsStringAsync());
            }

            foreach (var approver in new[] { "bob", "carol" })
            {
                if (await StateOfAlphaAsync(alice) == "active")
                {
                    break;
                }

                using var client = Client(management, keys[approver]);
                using var approved = await client.PostAsync(new Uri($"api/v1/restores/{suspension}/approve", UriKind.Relative), OperatorApiSite.Reason(ApproveReason));
                Assert.True(approved.IsSuccessStatusCode, await approved.Content.ReadAsStringAsync());
            }

            Assert.Equal("active", await StateOfAlphaAsync(alice));

            // The restoration reaches alpha's incident as a measure before the controller is stopped.
            using var viewer = Client(management, keys["val"]);
            for (var deadline = DateTime.UtcNow.AddSeconds(60); !(await viewer.GetStringAsync(new Uri("api/v1/incidents", UriKind.Relative))).Contains("restored alpha", StringComparison.Ordinal); await Task.Delay(100))
            {
                Assert.True(DateTime.UtcNow < deadline, "the restoration never reached alpha's incident");
            }

            segctl.Signal(NativeMethods.SigTerm);
            Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            log = segctl.StandardOutput + segctl.StandardError;
        }

        // The site's own view keeps the operator's words.
        Assert.Contains(SuspendReason, log, StringComparison.Ordinal);
        Assert.Contains(RestoreReason, log, StringComparison.Ordinal);

        var store = Path.Combine(_dir, "segctl.db");
        var export = await ClientExportFile.WriteAsync(store, "alpha", Path.Combine(_dir, "alpha.jsonl"));
        var records = export.Lines.Where(l => l.GetProperty("kind").GetString() == "record").ToArray();
        var tripped = Assert.Single(records, r => r.GetProperty("type").GetString() == RecordTypes.Suspension
            && r.GetProperty("payload").GetProperty("event").GetString() == "tripped");
        Assert.Equal(
            "cross-client traffic with another client (another client) from [another client's address]",
            tripped.GetProperty("payload").GetProperty("reason").GetString());
        var restored = Assert.Single(records, r => r.GetProperty("type").GetString() == RecordTypes.Restoration
            && r.GetProperty("payload").GetProperty("event").GetString() == "restored");
        Assert.Equal("another client confirmed [another client's address] no longer reaches alpha", restored.GetProperty("payload").GetProperty("reason").GetString());
        var actions = records.Where(r => r.GetProperty("type").GetString() == RecordTypes.OperatorAction).Select(r => r.GetProperty("payload")).ToArray();
        Assert.Equal(
            "cross-client traffic with another client (another client) from [another client's address]",
            Assert.Single(actions, a => a.GetProperty("action").GetString() == "suspend").GetProperty("reason").GetString());
        Assert.Contains(actions, a => a.GetProperty("action").GetString() == "restore-approve"
            && a.GetProperty("reason").GetString() == "checked with another client");

        // alpha's incident took the suspension and the restoration as measures, as alpha's view of them.
        var incident = records.Last(r => r.GetProperty("type").GetString() == RecordTypes.IncidentEvent).GetProperty("payload");
        var measures = incident.GetProperty("measures_taken").EnumerateArray().Select(m => m.GetProperty("text").GetString()!).ToArray();
        Assert.Contains(measures, m => m.StartsWith("suspended alpha", StringComparison.Ordinal)
            && m.Contains("cross-client traffic with another client (another client) from [another client's address]", StringComparison.Ordinal));
        Assert.Contains(measures, m => m.StartsWith("restored alpha", StringComparison.Ordinal)
            && m.Contains("another client confirmed [another client's address] no longer reaches alpha", StringComparison.Ordinal));

        Assert.DoesNotContain("beta", export.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Telecom", export.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("127.0.120.", export.Text, StringComparison.Ordinal);
        var (verified, report, error) = await ClientExportFile.SegctlAsync("log", "verify", "--export", export.Path);
        Assert.True(verified == 0, report + error);
    }

    private static HttpClient Client(Uri management, string key)
    {
        var client = new HttpClient { BaseAddress = management };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<string?> StateOfAlphaAsync(HttpClient client)
    {
        using var status = JsonDocument.Parse(await client.GetStringAsync(new Uri("api/v1/status", UriKind.Relative)));
        return status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha").GetProperty("state").GetString();
    }
}
