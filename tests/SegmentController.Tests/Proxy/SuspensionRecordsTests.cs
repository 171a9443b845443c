using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Proxy;

/// <summary>
/// Every trip, restore request, approval and restore lands in the tamper-evident store of a controller
/// built as <c>segctl run</c> builds it (real SQLite store, real engine, operator API over HTTP).
/// </summary>
public sealed class SuspensionRecordsTests
{
    [Fact]
    public async Task TripRestoreRequestApproval_EachInTheChain_ChainVerifies()
    {
        await using var site = await OperatorApiSite.StartAsync();
        using var alice = site.Client("alice");
        using var bob = site.Client("bob");
        using var carol = site.Client("carol");

        await SuspendAlphaAsync(alice, "leak on the SPAN port");

        var enforced = await WaitForAsync(site.StorePath, RecordTypes.Suspension, r => Event(r) == "enforced");
        using (var request = await bob.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("switch fixed")))
        using (var pending = JsonDocument.Parse(await request.Content.ReadAsStringAsync()))
        {
            var restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;
            using var approved = await carol.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("verified the fix"));
            Assert.Equal(System.Net.HttpStatusCode.OK, approved.StatusCode);
        }

        await WaitForAsync(site.StorePath, RecordTypes.Restoration, r => Event(r) == "restored");

        var suspensions = Records(site.StorePath, RecordTypes.Suspension);
        var tripped = Assert.Single(suspensions, r => Event(r) == "tripped");
        Assert.Equal("alpha", tripped.Clients);
        using (var body = Json(tripped))
        {
            var root = body.RootElement;
            Assert.Equal("alpha", root.GetProperty("scope").GetString());
            Assert.Equal("operator", root.GetProperty("trigger").GetString());
            Assert.Equal("alice", root.GetProperty("actor").GetString());
            Assert.Equal("leak on the SPAN port", root.GetProperty("reason").GetString());
            Assert.Equal(["persist", "gate", "inflight", "upstream-pool"], root.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()!).ToArray());
            Assert.All(root.GetProperty("stages").EnumerateArray(), s => Assert.True(s.GetProperty("seconds").GetDouble() >= 0));
        }

        using (var body = Json(enforced))
        {
            var stages = body.RootElement.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()!).ToArray();
            Assert.Equal(["persist", "gate", "inflight", "upstream-pool", "switch-ports", "webhooks"], stages);
            Assert.Equal(Json(tripped).RootElement.GetProperty("suspension_id").GetString(), body.RootElement.GetProperty("suspension_id").GetString());
        }

        var restorations = Records(site.StorePath, RecordTypes.Restoration);
        Assert.Equal(["requested", "approved", "restored"], restorations.Select(Event).ToArray());
        Assert.All(restorations, r => Assert.Equal("alpha", r.Clients));
        using (var requested = Json(restorations[0]))
        {
            Assert.Equal("bob", requested.RootElement.GetProperty("requested_by").GetString());
            Assert.Equal("switch fixed", requested.RootElement.GetProperty("reason").GetString());
        }

        using (var approved = Json(restorations[1]))
        {
            Assert.Equal("carol", approved.RootElement.GetProperty("approver").GetString());
        }

        using (var restored = Json(restorations[2]))
        {
            Assert.Equal(["bob", "carol"], restored.RootElement.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()!).ToArray());
            Assert.True(restored.RootElement.TryGetProperty("restored_at", out _));
        }

        // The trip's records come after its acknowledgement's state write and before the restore's.
        Assert.True(suspensions.Max(r => r.Index) < restorations.Min(r => r.Index));
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, await CliApplication.InvokeAsync(["log", "verify", "--store", site.StorePath], output, error, CancellationToken.None));
    }

    [Fact]
    public async Task SuspendedAgainWhileARestoreIsPending_RestoreWithdrawnOnRecordAndTheApprovalRefused()
    {
        await using var site = await OperatorApiSite.StartAsync();
        using var alice = site.Client("alice");
        using var bob = site.Client("bob");
        using var carol = site.Client("carol");

        await SuspendAlphaAsync(alice, "leak on the SPAN port");

        string restoreId;
        using (var request = await bob.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("switch fixed")))
        using (var pending = JsonDocument.Parse(await request.Content.ReadAsStringAsync()))
        {
            restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;
        }

        // A second incident before the approval: the suspension stands, the restore asked for before it lapses.
        using (var again = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("second leak, port 7")))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, again.StatusCode);
        }

        using (var approved = await carol.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("verified the fix")))
        {
            Assert.False(approved.IsSuccessStatusCode, await approved.Content.ReadAsStringAsync());
        }

        var retripped = await WaitForAsync(site.StorePath, RecordTypes.Suspension, r => Event(r) == "retripped");
        Assert.Equal("alpha", retripped.Clients);
        using (var body = Json(retripped))
        {
            var retrip = body.RootElement.GetProperty("retrip");
            Assert.Equal("operator", retrip.GetProperty("trigger").GetString());
            Assert.Equal("alice", retrip.GetProperty("actor").GetString());
            Assert.Equal("second leak, port 7", retrip.GetProperty("reason").GetString());
            var withdrawn = body.RootElement.GetProperty("withdrawn_restore");
            Assert.Equal("bob", withdrawn.GetProperty("requested_by").GetString());
            Assert.Equal(["bob"], withdrawn.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()!).ToArray());
        }

        Assert.DoesNotContain(Records(site.StorePath, RecordTypes.Restoration), r => Event(r) == "restored");
    }

    [Fact]
    public async Task SuspendedBeforeStart_RecordedAsInForceOnceTheStoreOpens()
    {
        string? suspensionId = null;
        await using var site = await OperatorApiSite.StartAsync(directory =>
        {
            // The state a previous controller left: alpha suspended, with no store record of it yet.
            var policy = PolicyFile.Open(TestSite.WritePolicy(directory)).Provider!;
            using var engine = new SuspensionEngine(new FileSuspensionStateStore(Path.Combine(directory, "suspension.state")), policy, [], [], [], [], TimeProvider.System);
            var trip = engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "before the restart" }, CancellationToken.None).GetAwaiter().GetResult();
            suspensionId = trip.Record.Id;
        });

        var record = await WaitForAsync(site.StorePath, RecordTypes.Suspension, r => Event(r) == "in-force-at-start");

        Assert.Equal("alpha", record.Clients);
        using var body = Json(record);
        Assert.Equal(suspensionId, body.RootElement.GetProperty("suspension_id").GetString());
        Assert.Equal("before the restart", body.RootElement.GetProperty("reason").GetString());
    }

    private static async Task SuspendAlphaAsync(HttpClient operatorClient, string reason)
    {
        using var suspended = await operatorClient.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason(reason));
        Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
    }

    private static JsonDocument Json(StoredRecord record) => JsonDocument.Parse(record.Payload!.Value);

    private static string Event(StoredRecord record)
    {
        using var body = Json(record);
        return body.RootElement.GetProperty("event").GetString()!;
    }

    private static StoredRecord[] Records(string store, string type) =>
        [.. StoreFile.Read(store, new RecordQuery { Type = type })];

    private static async Task<StoredRecord> WaitForAsync(string store, string type, Func<StoredRecord, bool> wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var found = Records(store, type).FirstOrDefault(wanted);
            if (found is not null)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no such {type} record in {store}");
            await Task.Delay(50);
        }
    }
}
