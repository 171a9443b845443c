using System.Diagnostics;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// <c>segctl run</c> suspending a client while its switch (snmpd in a namespace, controlling real links)
/// hangs: the trip's port shut fails, and the port is shut by a retry once the switch answers, with the
/// retry in the store and the log; restoring it while the switch hangs, the port is brought up by a retry, also
/// by the next start of a controller killed while the bring-up was owed.
/// </summary>
public sealed class SwitchPortRetryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-port-retry-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_SuspendedWhileTheSwitchHangs_PortShutByARetryOnceItAnswers_StoreAndLogSaySo()
    {
        await using var sw = await SwitchNamespace.CreateAsync(("sgra1", 10), ("sgrb1", 20));
        var key = WriteOperatorKey();
        await using var segctl = SegctlProcess.Start("run", "--policy", WritePolicy(sw.AgentAddress), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        using var api = Api(management, key);

        await sw.Agent.PauseAsync();
        try
        {
            using (var suspended = await api.PostAsync(new Uri("/api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("leak on the SPAN port")))
            {
                Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
            }

            await WaitForOutputAsync(segctl, "Suspension stage switch-ports for alpha failed");
            Assert.True(await sw.IsUpAsync("sgra1"));
        }
        finally
        {
            await sw.Agent.ResumeAsync();
        }

        await WaitForOutputAsync(segctl, "Suspension of alpha retried after its switch ports did not read back down: switch ports of alpha (sw1:sgra1) shut and read back down");
        Assert.False(await sw.IsUpAsync("sgra1"));
        Assert.True(await sw.IsUpAsync("sgrb1"));

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var reasserted = StoreFile.Read(Path.Combine(_dir, "segctl.db"), new RecordQuery { Type = RecordTypes.Suspension })
            .Select(r => JsonDocument.Parse(r.Payload!.Value))
            .Where(d => d.RootElement.GetProperty("event").GetString() == "ports-reasserted")
            .ToArray();
        var reassertion = Assert.Single(reasserted).RootElement.GetProperty("reassertion");
        Assert.Equal("retry", reassertion.GetProperty("cause").GetString());
        Assert.True(reassertion.GetProperty("verified").GetBoolean());
        Assert.Equal(["sw1:sgra1"], reassertion.GetProperty("ports").EnumerateArray().Select(p => p.GetString()!).ToArray());
        Assert.Equal("alpha", reasserted[0].RootElement.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Status_WhileTheSwitchHangs_ShowsThePortBeingTriedAgain_OnceShut_ShowsTheRetryAsTheLastReassertion()
    {
        await using var sw = await SwitchNamespace.CreateAsync(("sgra1", 10), ("sgrb1", 20));
        var key = WriteOperatorKey();
        await using var segctl = SegctlProcess.Start("run", "--policy", WritePolicy(sw.AgentAddress), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        using var api = Api(management, key);

        using (var before = await StatusAsync(api))
        {
            Assert.Equal(JsonValueKind.Null, Client(before, "alpha").GetProperty("last_reassertion").ValueKind);
            Assert.Empty(Client(before, "alpha").GetProperty("ports_pending_retry").EnumerateArray());
        }

        string suspensionId;
        await sw.Agent.PauseAsync();
        try
        {
            using (var suspended = await api.PostAsync(new Uri("/api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("leak on the SPAN port")))
            {
                Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
            }

            await WaitForOutputAsync(segctl, "Suspension stage switch-ports for alpha failed");
            using var hanging = await StatusAsync(api);
            var alpha = Client(hanging, "alpha");
            suspensionId = alpha.GetProperty("suspension").GetProperty("id").GetString()!;
            Assert.Equal(["sw1:sgra1"], alpha.GetProperty("ports_pending_retry").EnumerateArray().Select(p => p.GetString()!).ToArray());
            Assert.Equal(JsonValueKind.Null, alpha.GetProperty("last_reassertion").ValueKind);
            Assert.Empty(Client(hanging, "bravo").GetProperty("ports_pending_retry").EnumerateArray());

            var (code, output, error) = await SegctlProcess.RunAsync("status", "--url", management.ToString(), "--api-key", key);
            Assert.True(code == 1, error);
            Assert.Contains("alpha: switch ports NOT shut, being tried again: sw1:sgra1", output, StringComparison.Ordinal);
        }
        finally
        {
            await sw.Agent.ResumeAsync();
        }

        await WaitForOutputAsync(segctl, "Suspension of alpha retried after its switch ports did not read back down");
        using (var shut = await StatusAsync(api))
        {
            var alpha = Client(shut, "alpha");
            Assert.Empty(alpha.GetProperty("ports_pending_retry").EnumerateArray());
            var last = alpha.GetProperty("last_reassertion");
            Assert.Equal("retry", last.GetProperty("cause").GetString());
            Assert.True(last.GetProperty("verified").GetBoolean());
            Assert.Equal(suspensionId, last.GetProperty("suspension_id").GetString());
            Assert.Equal("alpha", last.GetProperty("suspension_scope").GetString());
            Assert.Equal(["sw1:sgra1"], last.GetProperty("ports").EnumerateArray().Select(p => p.GetString()!).ToArray());
            Assert.Equal(JsonValueKind.Null, Client(shut, "bravo").GetProperty("last_reassertion").ValueKind);
        }

        var (after, said, complaint) = await SegctlProcess.RunAsync("status", "--url", management.ToString(), "--api-key", key);
        Assert.True(after == 1, complaint);
        Assert.Matches(@"alpha: switch ports shut again \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(retry\): sw1:sgra1, read back down", said);
        Assert.DoesNotContain("being tried again", said, StringComparison.Ordinal);
        Assert.False(await sw.IsUpAsync("sgra1"));

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Run_RestoredWhileTheSwitchHangs_PortBroughtUpByARetryOnceItAnswers_StoreAndLogSaySo()
    {
        await using var sw = await SwitchNamespace.CreateAsync(("sgra1", 10), ("sgrb1", 20));
        var key = WriteOperatorKey();
        await using var segctl = SegctlProcess.Start("run", "--policy", WritePolicy(sw.AgentAddress), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        using var api = Api(management, key);

        using (var suspended = await api.PostAsync(new Uri("/api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("leak on the SPAN port")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
        }

        await WaitForPortAsync(sw, "sgra1", up: false);

        // The switch hangs as the restore comes: the restore stands, its bring-up is not read back up.
        await sw.Agent.PauseAsync();
        try
        {
            using var restored = await api.PostAsync(new Uri("/api/v1/clients/alpha/restore", UriKind.Relative), OperatorApiSite.Reason("drill over"));
            Assert.Equal(System.Net.HttpStatusCode.OK, restored.StatusCode);
            Assert.False(await sw.IsUpAsync("sgra1"));

            using var owing = await StatusAsync(api);
            Assert.Equal(["sw1:sgra1"], Client(owing, "alpha").GetProperty("ports_owed_bring_up").EnumerateArray().Select(p => p.GetString()!).ToArray());
            Assert.Empty(Client(owing, "bravo").GetProperty("ports_owed_bring_up").EnumerateArray());
            var (_, output, error) = await SegctlProcess.RunAsync("status", "--url", management.ToString(), "--api-key", key);
            Assert.Contains("alpha: switch ports NOT brought up after the restore, being tried again: sw1:sgra1", output, StringComparison.Ordinal);
            Assert.True(error.Length == 0, error);
        }
        finally
        {
            await sw.Agent.ResumeAsync();
        }

        await WaitForOutputAsync(segctl, "Restore of alpha: switch ports of alpha, which the restore could not read back up, brought up and read back up on a retry");
        Assert.True(await sw.IsUpAsync("sgra1"));
        Assert.True(await sw.IsUpAsync("sgrb1"));
        using (var settled = await StatusAsync(api))
        {
            Assert.Empty(Client(settled, "alpha").GetProperty("ports_owed_bring_up").EnumerateArray());
        }

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var restorations = StoreFile.Read(Path.Combine(_dir, "segctl.db"), new RecordQuery { Type = RecordTypes.Restoration })
            .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement)
            .ToArray();
        var restore = Assert.Single(restorations, r => r.GetProperty("event").GetString() == "restored");
        Assert.False(restore.GetProperty("ports").GetProperty("verified").GetBoolean());
        var broughtUp = Assert.Single(restorations, r => r.GetProperty("event").GetString() == "ports-brought-up");
        Assert.Equal("alpha", broughtUp.GetProperty("scope").GetString());
        Assert.Equal("alpha", broughtUp.GetProperty("client").GetString());
        Assert.Equal(restore.GetProperty("suspension_id").GetString(), broughtUp.GetProperty("suspension_id").GetString());
        Assert.True(broughtUp.GetProperty("ports").GetProperty("verified").GetBoolean());
        Assert.True(
            Array.FindIndex(restorations, r => r.GetProperty("event").GetString() == "restored") < Array.FindIndex(restorations, r => r.GetProperty("event").GetString() == "ports-brought-up"),
            "the retry is recorded after the restore it completes");
    }

    [Fact]
    public async Task Run_KilledWhileARestoresBringUpIsOwed_StartedAgain_PortBroughtUpAndRecordedUnderTheRestore()
    {
        await using var sw = await SwitchNamespace.CreateAsync(("sgra1", 10), ("sgrb1", 20));
        var key = WriteOperatorKey();
        var policy = WritePolicy(sw.AgentAddress);
        string suspensionId;
        await using (var first = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await first.WaitForManagementAsync(TimeSpan.FromSeconds(60));
            using var api = Api(management, key);
            using (var suspended = await api.PostAsync(new Uri("/api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("leak on the SPAN port")))
            {
                Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
                using var body = JsonDocument.Parse(await suspended.Content.ReadAsStringAsync());
                suspensionId = body.RootElement.GetProperty("suspension").GetProperty("id").GetString()!;
            }

            await WaitForPortAsync(sw, "sgra1", up: false);

            // The switch hangs as the restore comes, and the controller dies while the bring-up is owed.
            await sw.Agent.PauseAsync();
            try
            {
                using (var restored = await api.PostAsync(new Uri("/api/v1/clients/alpha/restore", UriKind.Relative), OperatorApiSite.Reason("drill over")))
                {
                    Assert.Equal(System.Net.HttpStatusCode.OK, restored.StatusCode);
                }

                first.Signal(NativeMethods.SigKill);
                Assert.Equal(137, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                Assert.False(await sw.IsUpAsync("sgra1"));
            }
            finally
            {
                await sw.Agent.ResumeAsync();
            }
        }

        await using var second = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        await second.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        await WaitForOutputAsync(second, "Restore of alpha: switch ports of alpha, which the restore could not read back up, brought up and read back up on a retry");
        Assert.True(await sw.IsUpAsync("sgra1"));
        Assert.True(await sw.IsUpAsync("sgrb1"));

        second.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var broughtUp = Assert.Single(
            StoreFile.Read(Path.Combine(_dir, "segctl.db"), new RecordQuery { Type = RecordTypes.Restoration })
                .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement),
            r => r.GetProperty("event").GetString() == "ports-brought-up");
        Assert.Equal(suspensionId, broughtUp.GetProperty("suspension_id").GetString());
        Assert.Equal("alpha", broughtUp.GetProperty("client").GetString());
        Assert.Equal("olga", broughtUp.GetProperty("requested_by").GetString());
        Assert.True(broughtUp.GetProperty("ports").GetProperty("verified").GetBoolean());
    }

    private static async Task WaitForPortAsync(SwitchNamespace sw, string port, bool up)
    {
        var deadline = Stopwatch.StartNew();
        while (await sw.IsUpAsync(port) != up)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"{port} did not go {(up ? "up" : "down")}");
            await Task.Delay(50);
        }
    }

    /// <summary>Writes the API key file with one operator, olga, and returns her key.</summary>
    private string WriteOperatorKey()
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["olga"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(Path.Combine(_dir, "api-keys"), keys, ("olga", "operator"));
        return keys["olga"];
    }

    private static HttpClient Api(Uri management, string key)
    {
        var api = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return api;
    }

    private static async Task<JsonDocument> StatusAsync(HttpClient api) =>
        JsonDocument.Parse(await api.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative)));

    private static JsonElement Client(JsonDocument status, string id) =>
        status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    private static async Task WaitForOutputAsync(SegctlProcess segctl, string text)
    {
        var deadline = Stopwatch.StartNew();
        while (!segctl.StandardOutput.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"segctl did not log \"{text}\"; stdout:\n{segctl.StandardOutput}\nstderr:\n{segctl.StandardError}");
            await Task.Delay(50);
        }
    }

    private string WritePolicy(string agentAddress) =>
        TwoClientSwitchSite.WritePolicy(_dir, "port-retry", "A switch that hangs at the trip", agentAddress, "[sgra1]", "[sgrb1]");
}
