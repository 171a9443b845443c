using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Api;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Tests.Audits;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>The operator API over real HTTP on loopback, against the real engine and SQLite store.</summary>
public sealed class OperatorApiTests : IAsyncLifetime
{
    /// <summary>The stages of a trip, in the kill order (DESIGN.md's data flow; README's kill order).</summary>
    private static readonly string[] EnforcementStages = ["persist", "gate", "inflight", "upstream-pool", "switch-ports", "webhooks"];

    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() => _site = await OperatorApiSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task NoKey_Returns401ProblemDetails()
    {
        using var client = _site.Client(null);
        using var response = await client.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("title").GetString()));
    }

    [Fact]
    public async Task HealthAndMetrics_StayOpenWithoutKey()
    {
        using var client = _site.Client(null);
        using var metrics = await client.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        using var health = await client.GetAsync("healthz");
        Assert.NotEqual(HttpStatusCode.Unauthorized, health.StatusCode);
    }

    [Fact]
    public async Task ViewerSuspending_Returns403AndNothingIsSuspended()
    {
        using var viewer = _site.Client("val");
        using var response = await viewer.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("not mine to do"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var status = await GetJsonAsync(viewer, "api/v1/status");
        Assert.All(status.GetProperty("clients").EnumerateArray(), c => Assert.Equal("active", c.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task ApproverRequestingSuspend_Returns403()
    {
        using var approver = _site.Client("bob");
        using var response = await approver.PostAsync("api/v1/suspend-all", OperatorApiSite.Reason("approvers do not trip"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Suspend_StatusShowsSuspendedAndMetricIsOne()
    {
        using var operatorClient = _site.Client("alice");
        using var response = await operatorClient.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak on the SPAN port"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        var alpha = status.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha");
        var beta = status.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "beta");
        Assert.Equal("suspended", alpha.GetProperty("state").GetString());
        Assert.Equal("alice", alpha.GetProperty("suspension").GetProperty("actor").GetString());
        Assert.Equal("operator", alpha.GetProperty("suspension").GetProperty("trigger").GetString());
        Assert.Equal("active", beta.GetProperty("state").GetString());

        using var plain = _site.Client(null);
        var metrics = await plain.GetStringAsync("metrics");
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"beta\"} 0", metrics, StringComparison.Ordinal);

        // Every stage of the kill order is timed on /metrics; the switch ports and webhooks are done after the answer.
        var timed = await SegctlProcess.PollMetricsAsync(plain, plain.BaseAddress!, m => EnforcementStages.All(stage => StageObservations(m, stage) >= 1));
        Assert.All(EnforcementStages, stage => Assert.True(
            StageObservations(timed, stage) >= 1,
            $"no segctl_killswitch_enforce_seconds_count{{stage=\"{stage}\"}} of at least 1 on /metrics after the trip:\n{string.Join('\n', timed.Split('\n').Where(l => l.Contains("killswitch", StringComparison.Ordinal)))}"));
    }

    /// <summary>How many times <c>/metrics</c> says <paramref name="stage"/> was timed (-1: no series).</summary>
    private static double StageObservations(string metrics, string stage)
    {
        var count = System.Text.RegularExpressions.Regex.Match(
            metrics,
            $"^segctl_killswitch_enforce_seconds_count\\{{stage=\"{System.Text.RegularExpressions.Regex.Escape(stage)}\"\\}} (\\S+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        return count.Success ? double.Parse(count.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    [Fact]
    public async Task SuspendTwice_SecondAnswers200WithTheExistingSuspension()
    {
        using var operatorClient = _site.Client("alice");
        using var first = await operatorClient.PostAsync("api/v1/clients/beta/suspend", OperatorApiSite.Reason("first"));
        using var second = await operatorClient.PostAsync("api/v1/clients/beta/suspend", OperatorApiSite.Reason("second"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        using var body = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("created").GetBoolean());
        Assert.Equal("first", body.RootElement.GetProperty("suspension").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Restore_NeedsSecondDistinctApprover_SameKeyTwiceRefused()
    {
        using var alice = _site.Client("alice");
        using var bob = _site.Client("bob");
        using var carol = _site.Client("carol");
        (await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak"))).Dispose();

        using var request = await bob.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("switch fixed"));
        Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        using var pending = JsonDocument.Parse(await request.Content.ReadAsStringAsync());
        Assert.Equal("pending-approval", pending.RootElement.GetProperty("status").GetString());
        var restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;

        using var again = await bob.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("me again"));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        Assert.Equal("suspended", await StateOfAsync("alpha"));

        using var approved = await carol.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("verified the fix"));
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        using var restored = JsonDocument.Parse(await approved.Content.ReadAsStringAsync());
        Assert.Equal("restored", restored.RootElement.GetProperty("status").GetString());
        Assert.Equal(["bob", "carol"], restored.RootElement.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()!).ToArray());
        Assert.Equal("active", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task OperatorApprovingRestore_Returns403()
    {
        using var alice = _site.Client("alice");
        (await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak"))).Dispose();
        using var request = await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("fixed"));
        using var pending = JsonDocument.Parse(await request.Content.ReadAsStringAsync());
        var restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;
        using var approve = await alice.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("self-approval"));
        Assert.Equal(HttpStatusCode.Forbidden, approve.StatusCode);
    }

    [Fact]
    public async Task FailedAuthentication_IsRateLimitedPerAddress()
    {
        using var wrong = new HttpClient { BaseAddress = _site.Url };
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", OperatorApiSite.NewKey());
        for (var i = 0; i < 10; i++)
        {
            using var attempt = await wrong.GetAsync("api/v1/status");
            Assert.Equal(HttpStatusCode.Unauthorized, attempt.StatusCode);
        }

        using var limited = await wrong.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter is not null);

        // Guesses keep waiting, and so does a request without a credential.
        using (var again = await wrong.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = _site.Url };
        using var bare = await anonymous.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.TooManyRequests, bare.StatusCode);
    }

    [Fact]
    public async Task FailedAuthenticationsFromASharedAddress_ValidLongKeyStillServed_GuessesAndShortKeysWait()
    {
        // Someone else at the operators' address (a NAT, a jump host) fails ten times.
        const string ShortKey = "hunter2-hunter2";
        _site.Keys["sam"] = ShortKey;
        OperatorApiSite.WriteKeys(_site.KeysFile, _site.Keys, ("alice", "operator"), ("val", "viewer"), ("audra", "auditor"), ("sam", "viewer"));
        using var shortKeyClient = _site.Client("sam");
        using (var before = await shortKeyClient.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var wrong = new HttpClient { BaseAddress = _site.Url };
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", OperatorApiSite.NewKey());
        for (var i = 0; i < 10; i++)
        {
            using var attempt = await wrong.GetAsync("api/v1/status");
            Assert.Equal(HttpStatusCode.Unauthorized, attempt.StatusCode);
        }

        using (var limited = await wrong.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        }

        // Valid keys of the recipe's shape from the same address work, reads and changes alike.
        using var val = _site.Client("val");
        using (var status = await val.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        }

        using var alice = _site.Client("alice");
        using (var suspended = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak seen from the SOC")))
        {
            Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
        }

        // Over the limit a wrong key still waits, however long, and a key short enough to guess is not even
        // checked: it waits though it is valid.
        using var wrongLong = new HttpClient { BaseAddress = _site.Url };
        wrongLong.DefaultRequestHeaders.Authorization = new("Bearer", OperatorApiSite.NewKey() + OperatorApiSite.NewKey());
        using (var guess = await wrongLong.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, guess.StatusCode);
        }

        using (var shortKey = await shortKeyClient.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, shortKey.StatusCode);
            Assert.True(shortKey.Headers.RetryAfter is not null);
        }

        // A valid key's success does not lift the limit for the guesser.
        using (var stillLimited = await wrong.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, stillLimited.StatusCode);
        }
    }

    [Fact]
    public async Task KeyRotation_RewrittenFileTakesEffectWithoutRestart()
    {
        using var before = _site.Client("val");
        using (var ok = await before.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var newKey = OperatorApiSite.NewKey();
        _site.Keys["val"] = newKey;
        OperatorApiSite.WriteKeys(_site.KeysFile, _site.Keys, ("alice", "operator"), ("val", "viewer"));

        using (var old = await before.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        using var after = _site.Client("val");
        using var rotated = await after.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);

        // bob's line is gone: revoked.
        using var bob = _site.Client("bob");
        using var revoked = await bob.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
    }

    [Fact]
    public async Task KeyRotation_SameLengthAndModificationTime_TakesEffectWithoutRestart()
    {
        // The running controller's keys file reads the time from a clock the test moves.
        var clock = new HandClock(DateTimeOffset.UtcNow);
        await using var site = await OperatorApiSite.StartAsync(configure: s => s.AddSingleton(sp => new ApiKeyFile(
            sp.GetRequiredService<IPolicyProvider>().Current.Controller.Management.ApiKeysFile, time: clock)));
        using var before = site.Client("val");
        using (var ok = await before.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var modified = File.GetLastWriteTimeUtc(site.KeysFile);
        var length = new FileInfo(site.KeysFile).Length;
        site.Keys["val"] = OperatorApiSite.NewKey();
        OperatorApiSite.WriteKeys(site.KeysFile, site.Keys, ("alice", "operator"), ("bob", "approver"), ("carol", "approver,viewer"), ("val", "viewer"), ("audra", "auditor"));
        File.SetLastWriteTimeUtc(site.KeysFile, modified);
        Assert.Equal(length, new FileInfo(site.KeysFile).Length);

        // Until the content recheck is due the rewrite is hidden from size and time...
        using (var stands = await before.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.OK, stands.StatusCode);
        }

        // ...and once it is due, the old key is revoked at the next request and the new one in force.
        clock.Advance(ApiKeyFile.ContentRecheckInterval);
        using (var old = await before.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        using var after = site.Client("val");
        using var rotated = await after.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
    }

    [Fact]
    public async Task Actions_AreRecordedInStoreWithActorTimeAndReason()
    {
        using var alice = _site.Client("alice");
        using var bob = _site.Client("bob");
        using var carol = _site.Client("carol");
        (await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak seen"))).Dispose();
        using var request = await bob.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("port fixed"));
        using var pending = JsonDocument.Parse(await request.Content.ReadAsStringAsync());
        var restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;
        (await carol.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("checked"))).Dispose();

        var store = _site.App.Services.GetRequiredService<IEvidenceStore>();
        var actions = new List<(string Action, string Actor, string Reason, string Outcome, DateTimeOffset At)>();
        await foreach (var record in store.ReadAsync(new RecordQuery { Type = RecordTypes.OperatorAction, Client = "alpha" }, CancellationToken.None))
        {
            using var payload = JsonDocument.Parse(record.Payload!.Value);
            var root = payload.RootElement;
            actions.Add((root.GetProperty("action").GetString()!, root.GetProperty("actor").GetString()!, root.GetProperty("reason").GetString()!,
                root.GetProperty("outcome").GetString()!, root.GetProperty("at").GetDateTimeOffset()));
        }

        Assert.Contains(actions, a => a is { Action: "suspend", Actor: "alice", Reason: "leak seen", Outcome: "suspended" });
        Assert.Contains(actions, a => a is { Action: "restore-request", Actor: "bob", Reason: "port fixed", Outcome: "pending-approval" });
        Assert.Contains(actions, a => a is { Action: "restore-approve", Actor: "carol", Reason: "checked", Outcome: "restored" });
        Assert.All(actions, a => Assert.True(a.At > DateTimeOffset.UtcNow.AddMinutes(-5)));
        Assert.True((await store.VerifyAsync(CancellationToken.None)).IsIntact);
    }

    [Theory]
    [InlineData("api/v1/clients/alpha/suspend", "{\"reason\":", 400)]
    [InlineData("api/v1/clients/alpha/suspend", "{}", 400)]
    [InlineData("api/v1/clients/alpha/suspend", "{\"reason\":\"   \"}", 400)]
    [InlineData("api/v1/clients/alpha/suspend", "{\"reason\":42}", 400)]
    [InlineData("api/v1/clients/alpha/suspend", "[\"reason\"]", 400)]
    [InlineData("api/v1/clients/nobody/suspend", "{\"reason\":\"x\"}", 404)]
    [InlineData("api/v1/clients/alpha/restore", "{\"reason\":\"not suspended\"}", 409)]
    [InlineData("api/v1/restores/0123456789abcdef/approve", "{\"reason\":\"x\"}", 403)]
    [InlineData("api/v1/clients/alpha/suspend", "{\"reason\":\"\\ud800\"}", 400)]
    [InlineData("api/v1/clients/alpha/suspend", "{\"reason\":\"ok\",\"\\udc00\":1}", 400)]
    [InlineData("api/v1/incidents", "{\"nature\":\"x\",\"clients\":[\"\\udc00\"]}", 400)]
    public async Task BadRequest_AnswersProblemDetails(string path, string body, int expected)
    {
        using var alice = _site.Client("alice");
        using var response = await alice.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(expected, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expected, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("title", out _));
        Assert.True(problem.RootElement.TryGetProperty("detail", out _));
    }

    [Theory]
    [InlineData("api/v1/clients/alpha/suspend", "{\"reason\":\"drill\",\"reason\":\"leak\"}", "reason")]
    [InlineData("api/v1/suspend-all", "{\"reason\":\"a\",\"note\":{\"x\":1,\"x\":2}}", "x")]
    [InlineData("api/v1/incidents", "{\"nature\":\"leak\",\"clients\":[\"alpha\"],\"nature\":\"drill\"}", "nature")]
    public async Task BodyNamingAFieldTwice_Answers400NamingIt_NothingDone(string path, string body, string name)
    {
        using var alice = _site.Client("alice");
        using var response = await alice.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"the body names \"{name}\" more than once: which one is meant cannot be told", problem.RootElement.GetProperty("detail").GetString());
        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        Assert.All(status.GetProperty("clients").EnumerateArray(), c => Assert.Equal("active", c.GetProperty("state").GetString()));
        using var incidents = await _site.Client("val").GetAsync("api/v1/incidents");
        Assert.Equal(HttpStatusCode.OK, incidents.StatusCode);
        Assert.DoesNotContain("\"nature\"", await incidents.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api/v1/findings?limit=abc", "1 to 512")]
    [InlineData("api/v1/findings?limit=1.5", "1 to 512")]
    [InlineData("api/v1/audits?limit=", "1 to 100")]
    [InlineData("api/v1/audits?limit=99999999999999999999", "1 to 100")]
    public async Task BadLimit_AnswersProblemDetailsNamingTheRange(string path, string range)
    {
        using var viewer = _site.Client("val");
        using var response = await viewer.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(range, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A number out of range is not an error: it is held to the range.
        using var clamped = await viewer.GetAsync(path.Contains("findings", StringComparison.Ordinal) ? "api/v1/findings?limit=100000" : "api/v1/findings?limit=-3");
        Assert.Equal(HttpStatusCode.OK, clamped.StatusCode);
    }

    [Fact]
    public async Task ExternalAudit_FailSuspendsAndPassEnablesNothingElse()
    {
        using var auditor = _site.Client("audra");
        using var failed = await auditor.PostAsync("api/v1/audits/external", new StringContent("{\"client\":\"beta\",\"passed\":false,\"reason\":\"external audit found shared port\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, failed.StatusCode);
        Assert.Equal("suspended", await StateOfAsync("beta"));
        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        var beta = status.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "beta");
        Assert.Equal("audit", beta.GetProperty("suspension").GetProperty("trigger").GetString());

        using var passed = await auditor.PostAsync("api/v1/audits/external", new StringContent("{\"client\":\"alpha\",\"passed\":true,\"reason\":\"annual audit\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, passed.StatusCode);
        status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        var alpha = status.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha");
        Assert.Equal(JsonValueKind.String, alpha.GetProperty("last_passing_audit").ValueKind);

        using var viewer = _site.Client("val");
        using var forbidden = await viewer.PostAsync("api/v1/audits/external", new StringContent("{\"client\":\"alpha\",\"passed\":true,\"reason\":\"x\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var malformed = await auditor.PostAsync("api/v1/audits/external", new StringContent("{\"client\":\"alpha\",\"passed\":\"yes\",\"reason\":\"x\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Fact]
    public async Task ApproveUnknownRestore_Returns404()
    {
        using var bob = _site.Client("bob");
        using var response = await bob.PostAsync("api/v1/restores/0123456789abcdef/approve", OperatorApiSite.Reason("x"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ApproveWithNoRestoreRequested_Returns409SayingTwoApproversAreNeeded()
    {
        using var alice = _site.Client("alice");
        using var tripped = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak"));
        using var trip = JsonDocument.Parse(await tripped.Content.ReadAsStringAsync());
        var restoreId = trip.RootElement.GetProperty("suspension").GetProperty("id").GetString()!;

        using var bob = _site.Client("bob");
        using var response = await bob.PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("nobody asked yet"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Restore refused", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal(restoreId, problem.RootElement.GetProperty("restore_id").GetString());
        Assert.Equal(0, problem.RootElement.GetProperty("approvers").GetArrayLength());
        Assert.Equal(2, problem.RootElement.GetProperty("required").GetInt32());
        Assert.Equal("suspended", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task OversizedBody_Returns413()
    {
        using var alice = _site.Client("alice");
        var huge = "{\"reason\":\"" + new string('a', 100_000) + "\"}";
        using var response = await alice.PostAsync("api/v1/clients/alpha/suspend", new StringContent(huge, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("active", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task LogVerify_AuditorSeesIntactChain_ViewerForbidden()
    {
        (await _site.Client("alice").PostAsync("api/v1/clients/beta/suspend", OperatorApiSite.Reason("to have a record"))).Dispose();
        var report = await GetJsonAsync(_site.Client("audra"), "api/v1/log/verify");
        Assert.True(report.GetProperty("intact").GetBoolean());
        Assert.True(report.GetProperty("records").GetInt64() >= 1);
        using var viewer = _site.Client("val");
        using var forbidden = await viewer.GetAsync("api/v1/log/verify");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task LogExport_AuditorGetsJsonLinesWithTheActions()
    {
        (await _site.Client("alice").PostAsync("api/v1/clients/beta/suspend", OperatorApiSite.Reason("exported reason"))).Dispose();
        using var auditor = _site.Client("audra");
        using var response = await auditor.GetAsync("api/v1/log/export?client=beta");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("exported reason", StringComparison.Ordinal));
        foreach (var line in lines)
        {
            using var _ = JsonDocument.Parse(line);
        }

        using var badTime = await auditor.GetAsync("api/v1/log/export?from=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, badTime.StatusCode);
        foreach (var client in (string[])["", "a%20b", "a,b", new string('a', 65)])
        {
            using var badClient = await auditor.GetAsync($"api/v1/log/export?client={client}");
            Assert.Equal(HttpStatusCode.BadRequest, badClient.StatusCode);
        }
    }

    [Fact]
    public async Task BodyOfInvalidUtf8_AnswersBadRequestAndRecordsNothing()
    {
        using var alice = _site.Client("alice");
        using var content = new ByteArrayContent([.. "{\"reason\":\""u8, 0xFF, 0xFE, .. "\"}"u8]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await alice.PostAsync("api/v1/clients/alpha/suspend", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not text", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotEqual("suspended", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task WrongMethodAndUnmappedPath_AnswerProblemDetails()
    {
        using var alice = _site.Client("alice");
        using var wrongMethod = await alice.DeleteAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal("application/problem+json", wrongMethod.Content.Headers.ContentType?.MediaType);
        Assert.Contains("GET", wrongMethod.Content.Headers.Allow);
        using (var problem = JsonDocument.Parse(await wrongMethod.Content.ReadAsStringAsync()))
        {
            Assert.Equal(405, problem.RootElement.GetProperty("status").GetInt32());
        }

        using var nothing = await alice.GetAsync("api/v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, nothing.StatusCode);
        Assert.Equal("application/problem+json", nothing.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await nothing.Content.ReadAsStringAsync()))
        {
            Assert.Equal(404, problem.RootElement.GetProperty("status").GetInt32());
        }
    }

    [Fact]
    public async Task BodyWithBrokenChunk_AnswersProblem400AndRestoresNothing()
    {
        using var alice = _site.Client("alice");
        (await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak"))).Dispose();

        var answer = await RawExchangeAsync(
            $"POST /api/v1/clients/alpha/restore HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: {_site.Keys["bob"]}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{\"reason\":", TimeSpan.Zero);

        Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Contains("\"title\":\"Bad request\"", answer, StringComparison.Ordinal);
        Assert.Contains("not valid HTTP", answer, StringComparison.Ordinal);
        Assert.Equal("suspended", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task BodyThatStopsComing_AnswersProblem408AndSuspendsNothing()
    {
        // Kestrel's minimum body data rate (240 bytes/s after a 5 s grace) ends a body that stalls.
        var answer = await RawExchangeAsync(
            $"POST /api/v1/clients/beta/suspend HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: {_site.Keys["alice"]}\r\n"
            + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"reas", TimeSpan.FromMinutes(1));

        Assert.StartsWith("HTTP/1.1 408 ", answer, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Contains("\"title\":\"Request timeout\"", answer, StringComparison.Ordinal);
        Assert.Equal("active", await StateOfAsync("beta"));
    }

    /// <summary>Writes <paramref name="request"/> as is and reads the answer until the server closes (at most <paramref name="wait"/> plus a minute).</summary>
    private async Task<string> RawExchangeAsync(string request, TimeSpan wait)
    {
        using var deadline = new CancellationTokenSource(wait + TimeSpan.FromMinutes(1));
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_site.Url.Host, _site.Url.Port, deadline.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), deadline.Token);
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, deadline.Token);
        return Encoding.UTF8.GetString(answer.ToArray());
    }

    [Fact]
    public async Task SuspendStreamed_AcknowledgedThenEachStageThenTheResult()
    {
        using var alice = _site.Client("alice");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/clients/beta/suspend") { Content = OperatorApiSite.Reason("streamed") };
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        using var response = await alice.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .ToArray();
        var acknowledged = lines[0].GetProperty("acknowledged");
        Assert.True(acknowledged.GetProperty("created").GetBoolean());
        Assert.False(acknowledged.GetProperty("stages_complete").GetBoolean());
        var id = acknowledged.GetProperty("suspension").GetProperty("id").GetString();

        var stages = lines.Where(l => l.TryGetProperty("stage", out _)).Select(l => l.GetProperty("stage").GetProperty("stage").GetString()!).ToArray();
        Assert.Equal(new[] { "persist", "gate", "inflight", "upstream-pool", "switch-ports", "webhooks" }, stages);
        Assert.All(lines[1..^1], l => Assert.True(l.TryGetProperty("stage", out _) || l.TryGetProperty("progress", out _)));

        var result = lines[^1].GetProperty("result");
        Assert.Equal(id, result.GetProperty("suspension").GetProperty("id").GetString());
        Assert.True(result.GetProperty("stages_complete").GetBoolean());
        Assert.Equal(6, result.GetProperty("suspension").GetProperty("stages").GetArrayLength());
        Assert.Equal(acknowledged.GetProperty("record_index").GetInt64(), result.GetProperty("record_index").GetInt64());

        // Asked again without streaming: the same suspension, not a new one.
        using var again = await alice.PostAsync("api/v1/clients/beta/suspend", OperatorApiSite.Reason("again"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        using var answer = JsonDocument.Parse(await again.Content.ReadAsStringAsync());
        Assert.False(answer.RootElement.GetProperty("created").GetBoolean());
        Assert.Equal(id, answer.RootElement.GetProperty("suspension").GetProperty("id").GetString());
    }

    [Fact]
    public async Task OpenApiDocument_DescribesExactlyTheMappedRoutes()
    {
        using var client = _site.Client(null);
        using var document = JsonDocument.Parse(await client.GetStringAsync("api/v1/openapi.json"));
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}"))
            .Order(StringComparer.Ordinal)
            .ToArray();

        var mapped = _site.App.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is "/metrics" or "/healthz" || e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => MethodsOf(e).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(mapped, documented);
    }

    private async Task<string?> StateOfAsync(string client)
    {
        using var viewer = _site.Client("val");
        var status = await GetJsonAsync(viewer, "api/v1/status");
        return status.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == client).GetProperty("state").GetString();
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>The methods an endpoint answers: its method metadata, or GET and HEAD for a read-only one (/metrics, /healthz).</summary>
    private static IReadOnlyList<string> MethodsOf(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods
        ?? (endpoint.Metadata.GetMetadata<SegmentController.Hosting.ControllerHost.ReadOnlyEndpoint>() is not null ? ["GET", "HEAD"] : []);
}
