using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Cli;
using SegmentController.Core.Findings;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary><c>segctl status|suspend|restore|approve</c> against a running controller, as an operator types them.</summary>
public sealed class OperatorCommandsTests : IAsyncLifetime
{
    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() => _site = await OperatorApiSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task SuspendThenStatusThenRestoreWithTwoApprovers_ExitCodesFollowTheState()
    {
        var (code, output, _) = await RunAsync("val", "status");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains("alpha", output, StringComparison.Ordinal);
        Assert.Contains("active", output, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("alice", "suspend", "alpha", "--reason", "leak on SPAN");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains("alpha suspended by alice", output, StringComparison.Ordinal);
        Assert.Contains("persist", output, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("val", "status");
        Assert.Equal(CliApplication.ExitViolations, code);
        var alphaRow = output.Split('\n').Single(l => l.StartsWith("alpha ", StringComparison.Ordinal));
        Assert.Contains("suspended", alphaRow, StringComparison.Ordinal);
        Assert.Contains("alice", alphaRow, StringComparison.Ordinal);
        Assert.Contains("leak on SPAN", alphaRow, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("bob", "restore", "alpha", "--reason", "fixed", "--json");
        Assert.Equal(CliApplication.ExitClean, code);
        string restoreId;
        using (var pending = JsonDocument.Parse(output))
        {
            Assert.Equal("pending-approval", pending.RootElement.GetProperty("status").GetString());
            restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;
        }

        (code, output, _) = await RunAsync("val", "status");
        Assert.Contains("suspended (restore 1/2 approved)", output.Split('\n').Single(l => l.StartsWith("alpha ", StringComparison.Ordinal)), StringComparison.Ordinal);
        (_, output, _) = await RunAsync("val", "status", "--json");
        using (var status = JsonDocument.Parse(output))
        {
            var pending = status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha").GetProperty("pending_restore");
            Assert.Equal(restoreId, pending.GetProperty("restore_id").GetString());
            Assert.Equal("bob", pending.GetProperty("requested_by").GetString());
            Assert.Equal(["bob"], pending.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal(2, pending.GetProperty("approvers_needed").GetInt32());
        }

        (code, _, var error) = await RunAsync("bob", "approve", restoreId, "--reason", "again");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("different person", error, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("carol", "approve", restoreId, "--reason", "verified");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains("alpha restored", output, StringComparison.Ordinal);

        (code, _, _) = await RunAsync("val", "status");
        Assert.Equal(CliApplication.ExitClean, code);
    }

    [Fact]
    public async Task Status_AReasonWithLineBreaksAndEscapes_StaysInItsCellAndForgesNoRow()
    {
        // A suspension reason is anyone's text (an operator's, a finding's summary): the table shows it, it
        // does not let it start lines or drive the approver's terminal.
        var (code, _, _) = await RunAsync("alice", "suspend", "alpha", "--reason", "x\nbeta    active\u001b[1A\u001b[2K\u202e");
        Assert.Equal(CliApplication.ExitClean, code);

        (code, var output, _) = await RunAsync("val", "status");

        Assert.Equal(CliApplication.ExitViolations, code);
        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain('\u202e', output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Single(lines, l => l.StartsWith("beta", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("alpha", StringComparison.Ordinal) && l.Contains("x\\nbeta", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SuspendAll_StatusJsonShowsEveryClientSuspended()
    {
        var (code, _, _) = await RunAsync("alice", "suspend", "--all", "--reason", "site-wide incident");
        Assert.Equal(CliApplication.ExitClean, code);
        (code, var output, _) = await RunAsync("val", "status", "--json");
        Assert.Equal(CliApplication.ExitViolations, code);
        using var status = JsonDocument.Parse(output);
        Assert.True(status.RootElement.GetProperty("all_suspended").GetBoolean());
        Assert.All(status.RootElement.GetProperty("clients").EnumerateArray(), c => Assert.Equal("suspended", c.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task RestoreClient_UnderSiteWideSuspension_Exits2SayingToRestoreAll()
    {
        var (code, _, _) = await RunAsync("alice", "suspend", "--all", "--reason", "site-wide incident");
        Assert.Equal(CliApplication.ExitClean, code);

        (code, var output, var error) = await RunAsync("bob", "restore", "alpha", "--reason", "fixed");

        Assert.Equal(CliApplication.ExitError, code);
        Assert.Equal("", output);
        Assert.StartsWith("segctl: HTTP 409 Suspended site-wide: 'alpha' is suspended by the site-wide suspension", error, StringComparison.Ordinal);
        Assert.Contains("segctl restore --all", error, StringComparison.Ordinal);
        Assert.DoesNotContain("not suspended", error, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("bob", "restore", "--all", "--reason", "fixed");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains("pending approval", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongKey_Exits2AndNeverEchoesTheKey()
    {
        var key = OperatorApiSite.NewKey();
        var (code, output, error) = await InvokeAsync("status", "--url", _site.Url.ToString(), "--api-key", key);
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("401", error, StringComparison.Ordinal);
        Assert.DoesNotContain(key, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ViewerSuspending_Exits2With403()
    {
        var (code, _, error) = await RunAsync("val", "suspend", "alpha", "--reason", "no");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("403", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("suspend", "--reason", "x")]
    [InlineData("suspend", "alpha", "--all", "--reason", "x")]
    [InlineData("suspend", "alpha/../x", "--reason", "x")]
    [InlineData("suspend", "alpha")]
    [InlineData("approve", "../status", "--reason", "x")]
    public async Task BadInput_Exits2(params string[] args)
    {
        var (code, _, _) = await RunAsync("alice", args);
        Assert.Equal(CliApplication.ExitError, code);
    }

    [Fact]
    public async Task Unreachable_Exits2()
    {
        var port = FreePort.Tcp();
        var (code, _, error) = await InvokeAsync("status", "--url", $"http://127.0.0.1:{port}", "--api-key", "x");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("unreachable", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpsUrlToThePlainHttpListener_SaysToUseItsHttpUrl()
    {
        var https = new UriBuilder(_site.Url) { Scheme = Uri.UriSchemeHttps, Port = _site.Url.Port }.Uri;
        var (code, output, error) = await InvokeAsync("status", "--url", https.ToString(), "--api-key", _site.Keys["val"]);
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Equal("", output);
        Assert.Contains($"{https} did not answer TLS", error, StringComparison.Ordinal);
        Assert.Contains($"use --url {_site.Url}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("certificate this machine does not trust", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("incidents")]
    [InlineData("suspend", "alpha", "--reason", "x")]
    [InlineData("audit", "list")]
    public async Task UrlWithTheApiPath_Exits2SayingToNameTheListenerItself(params string[] args)
    {
        var url = new Uri(_site.Url, "api/v1").ToString();
        var (code, output, error) = await InvokeAsync([.. args, "--url", url, "--api-key", _site.Keys["alice"]]);
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Equal("", output);
        Assert.Contains($"{url}/ serves no segctl operator API call", error, StringComparison.Ordinal);
        Assert.Contains("without /api/v1", error, StringComparison.Ordinal);
        Assert.DoesNotContain("does not serve incidents", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClearTextToNonLoopback_IsRefusedBeforeSending()
    {
        var (code, _, error) = await InvokeAsync("status", "--url", "http://192.0.2.1:9410", "--api-key", "x");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("clear text", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SegctlRunProcess_ServesTheApiToTheCli()
    {
        var directory = Directory.CreateTempSubdirectory("segctl-api-run-").FullName;
        try
        {
            var keys = new Dictionary<string, string> { ["alice"] = OperatorApiSite.NewKey() };
            var keysFile = Path.Combine(directory, "api-keys");
            OperatorApiSite.WriteKeys(keysFile, keys, ("alice", "operator,viewer"));
            var policy = TestSite.WritePolicy(directory, apiKeysFile: keysFile);
            await using var process = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
            var url = await process.WaitForManagementAsync(TimeSpan.FromSeconds(60));
            var (code, output, error) = await InvokeAsync("suspend", "beta", "--reason", "real process", "--url", url.ToString(), "--api-key", keys["alice"]);
            Assert.True(code == CliApplication.ExitClean, error);
            Assert.Contains("beta suspended by alice", output, StringComparison.Ordinal);
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri(url, "metrics"));
            Assert.Contains("segctl_client_suspended{client=\"beta\"} 1", metrics, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task LogVerifyThroughApi_IntactThenTamperedRecordNamed()
    {
        Assert.Equal(CliApplication.ExitClean, (await RunAsync("alice", "suspend", "alpha", "--reason", "evidence for the chain")).Code);

        var (code, output, _) = await RunAsync("audra", "log", "verify");
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.Contains($"controller store {_site.Url}: intact: ", output, StringComparison.Ordinal);

        (code, _, var error) = await RunAsync("val", "log", "verify");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains("403", error, StringComparison.Ordinal);

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_site.StorePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE records SET payload = CAST('{\"forged\":true}' AS BLOB) WHERE idx = 1";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        (code, output, _) = await RunAsync("audra", "log", "verify");
        Assert.Equal(CliApplication.ExitViolations, code);
        Assert.Contains("TAMPERED: first bad record 1 (time 20", output, StringComparison.Ordinal);
    }

    private static readonly string[] EveryStage = ["persist", "gate", "inflight", "upstream-pool", "switch-ports", "webhooks"];

    [Fact]
    public async Task Suspend_Table_PrintsEveryStageWithItsTimeAndNoProgressOffTerminal()
    {
        var (code, output, error) = await RunAsync("alice", "suspend", "alpha", "--reason", "leak on SPAN");

        Assert.Equal(CliApplication.ExitClean, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("alpha suspended by alice (suspension ", lines[0], StringComparison.Ordinal);
        Assert.Equal(EveryStage, lines.Skip(1).Select(l => l.Trim().Split(' ')[0]));
        Assert.All(lines.Skip(1), l => Assert.Matches(@"^  [a-z-]+ +\d+\.\d{3} ms  ok", l));
        // Standard error is not a terminal here and --progress was not asked for.
        Assert.Equal("", error);
    }

    [Fact]
    public async Task Suspend_JsonWithProgress_StdoutIsOnlyTheFinalAnswerAndStagesGoToStderr()
    {
        var (code, output, error) = await RunAsync("alice", "suspend", "alpha", "--reason", "leak on SPAN", "--json", "--progress");

        Assert.True(code == CliApplication.ExitClean, error);
        using var answer = JsonDocument.Parse(output);
        Assert.True(answer.RootElement.GetProperty("created").GetBoolean());
        Assert.True(answer.RootElement.GetProperty("stages_complete").GetBoolean());
        Assert.Equal(EveryStage, answer.RootElement.GetProperty("suspension").GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()));
        Assert.True(answer.RootElement.GetProperty("record_index").GetInt64() > 0);

        var progress = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("suspend alpha: alpha suspended by alice", progress[0], StringComparison.Ordinal);
        Assert.Equal(EveryStage, progress.Skip(1).SkipLast(1).Select(l => l["suspend alpha: ".Length..].Split(' ')[0]));
        Assert.Matches(@"^suspend alpha: every stage done in \d+\.\d{3} s$", progress[^1]);
    }

    [Fact]
    public async Task SuspendAll_AlreadySuspended_SaysSoWithTheStagesOfTheTrip()
    {
        Assert.Equal(CliApplication.ExitClean, (await RunAsync("alice", "suspend", "--all", "--reason", "site-wide incident")).Code);

        var (code, output, error) = await RunAsync("alice", "suspend", "--all", "--reason", "again", "--progress");

        Assert.Equal(CliApplication.ExitClean, code);
        Assert.StartsWith("every client was already suspended (suspension ", output, StringComparison.Ordinal);
        Assert.Contains("  persist ", output, StringComparison.Ordinal);
        Assert.Matches(@"suspend --all: acknowledged in \d+\.\d{3} s|suspend --all: every stage done in \d+\.\d{3} s", error);
    }

    [Fact]
    public async Task RestoreApproveAndLogVerify_WithProgress_TimedOnStderrAndJsonCleanOnStdout()
    {
        Assert.Equal(CliApplication.ExitClean, (await RunAsync("alice", "suspend", "beta", "--reason", "leak")).Code);

        var (code, output, error) = await RunAsync("bob", "restore", "beta", "--reason", "fixed", "--json", "--progress");
        Assert.Equal(CliApplication.ExitClean, code);
        string restoreId;
        using (var pending = JsonDocument.Parse(output))
        {
            restoreId = pending.RootElement.GetProperty("restore_id").GetString()!;
        }

        Assert.Matches(@"^restore beta: pending-approval in \d+\.\d{3} s\n$", error);

        (code, output, error) = await RunAsync("carol", "approve", restoreId, "--reason", "checked", "--json", "--progress");
        Assert.Equal(CliApplication.ExitClean, code);
        using (var restored = JsonDocument.Parse(output))
        {
            Assert.Equal("restored", restored.RootElement.GetProperty("status").GetString());
        }

        Assert.Matches($@"^approve {restoreId}: restored in \d+\.\d{{3}} s\n$", error);

        (code, output, error) = await RunAsync("audra", "log", "verify", "--json", "--progress");
        Assert.Equal(CliApplication.ExitClean, code);
        using (var verified = JsonDocument.Parse(output))
        {
            Assert.True(verified.RootElement.GetProperty("intact").GetBoolean());
        }

        Assert.Matches(@"^log verify: \d+ records, intact in \d+\.\d{3} s\n$", error);

        // A refusal is timed too, and explained.
        (code, _, error) = await RunAsync("carol", "approve", restoreId, "--reason", "twice", "--progress");
        Assert.Equal(CliApplication.ExitError, code);
        Assert.Contains($"approve {restoreId}: failed (HTTP 404) in ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_TableShowsLastAuditAndOpenIncidentsPerClient()
    {
        var (code, output, _) = await RunAsync("val", "status");
        Assert.Equal(CliApplication.ExitClean, code);
        var header = output.Split('\n')[1];
        Assert.Matches("^CLIENT +STATE +SINCE +TRIGGER +BY +REASON +FINDINGS +LAST AUDIT +OPEN INCIDENTS$", header);
        Assert.Matches(" 0 +- +-$", Row(output, "alpha"));

        // An audit of beta, and a leak from alpha that opens an incident (and, being critical, trips alpha).
        Assert.Equal(CliApplication.ExitClean, (await RunAsync("audra", "audit", "run", "--client", "beta")).Code);
        var pipeline = _site.App.Services.GetRequiredService<SegmentController.Findings.FindingPipeline>();
        await pipeline.PublishAsync(
            [Finding.Create(RuleIds.CrossClientFlow, ["alpha"], "Traffic between clients (alpha, beta)", new Dictionary<string, object?>(), DateTimeOffset.UtcNow)],
            CancellationToken.None);
        string incident;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            (_, output, _) = await RunAsync("val", "status", "--json");
            using var status = JsonDocument.Parse(output);
            var open = status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha").GetProperty("open_incidents");
            if (open.GetArrayLength() == 1)
            {
                incident = open[0].GetString()!;
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "no incident opened for alpha: " + output);
            await Task.Delay(100);
        }

        (code, output, _) = await RunAsync("val", "status");
        Assert.Equal(CliApplication.ExitViolations, code);
        var alpha = Row(output, "alpha");
        Assert.Matches($" - +{incident}$", alpha);
        Assert.Contains("finding", alpha, StringComparison.Ordinal);
        Assert.Matches(@" 0 +pass \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +-$", Row(output, "beta"));
    }

    private static string Row(string table, string client) =>
        table.Split('\n').Single(l => l.StartsWith(client + " ", StringComparison.Ordinal));

    private Task<(int Code, string Output, string Error)> RunAsync(string user, params string[] args) =>
        InvokeAsync([.. args, "--url", _site.Url.ToString(), "--api-key", _site.Keys[user]]);

    private static async Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
