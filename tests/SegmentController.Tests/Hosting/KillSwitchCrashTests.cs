using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The real <c>segctl run</c> process, killed with SIGKILL right after it acknowledged a trip — no
/// shutdown, no flush — and started again: the client is still suspended and nothing reaches its upstream.
/// </summary>
public sealed class KillSwitchCrashTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("crash");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task Sigkilled_RightAfterTheTripIsAcknowledged_RestartedStillSuspended_NothingReachesTheUpstream()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["alice"] = OperatorApiSite.NewKey(), ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("alice", "operator"), ("val", "viewer"));
        var policy = _site.WritePolicy("crash", new Uri(upstream.Urls.First()).Port, proxyPort);
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);
        using var beta = _site.Agent(LoopbackProxySite.BetaAgent, proxyPort);

        await using (var first = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await first.WaitForManagementAsync(TimeSpan.FromSeconds(90));
            await first.WaitForProxyAsync(alpha);
            Assert.Contains("/alpha/before", _site.UpstreamPaths);

            using var operatorApi = SegctlProcess.Api(management, keys["alice"]);
            using var suspended = await operatorApi.PostAsync(new Uri("api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("crash drill"));

            // The acknowledgement, and at once the crash: no graceful stop, no flush of anything.
            first.Signal(NativeMethods.SigKill);
            Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
            Assert.Equal(137, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var hitsAtCrash = _site.UpstreamPaths.Count;
        await using var second = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var restarted = await second.WaitForManagementAsync(TimeSpan.FromSeconds(90));
        await second.WaitForProxyAsync(beta);

        using var viewer = SegctlProcess.Api(restarted, keys["val"]);
        using (var status = JsonDocument.Parse(await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative))))
        {
            var clients = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
            Assert.Equal("suspended", clients["alpha"]);
            Assert.Equal("active", clients["beta"]);
        }

        for (var i = 0; i < 5; i++)
        {
            var failure = await Record.ExceptionAsync(async () => (await alpha.GetAsync(new Uri($"https://alpha.test/alpha/after/{i}"))).Dispose());
            Assert.True(failure is HttpRequestException or IOException or SocketException, failure?.ToString() ?? "alpha was answered");
        }

        Assert.DoesNotContain(_site.UpstreamPaths, h => h.StartsWith("/alpha/", StringComparison.Ordinal) && h != "/alpha/before");
        Assert.Equal(hitsAtCrash + 1, _site.UpstreamPaths.Count); // beta's request that showed the restarted proxy up
        var metrics = await viewer.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);

        // The chain holds the suspension even if the crash came before its record was written.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!StoreFile.Read(_site.File("segctl.db"), new RecordQuery { Type = RecordTypes.Suspension, Client = "alpha" })
            .Any(r => JsonDocument.Parse(r.Payload!.Value).RootElement.GetProperty("event").GetString() == "in-force-at-start"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no in-force-at-start record of alpha's suspension");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task StateFileGoneWhileTheStoreStays_RestartedWithEveryClientSuspended()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("val", "viewer"));
        var policy = _site.WritePolicy("lost-state", new Uri(upstream.Urls.First()).Port, proxyPort);
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);

        // A first start lays the state out beside the new store, and forwards.
        await using (var first = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            await first.WaitForManagementAsync(TimeSpan.FromSeconds(90));
            await first.WaitForProxyAsync(alpha);
            first.Signal(NativeMethods.SigKill);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        // The state is lost (deleted, or its volume not mounted) while the store is still there: a
        // suspension that was in force is unknown, so every client starts suspended.
        File.Delete(_site.File("suspension.state"));
        var hits = _site.UpstreamPaths.Count;
        await using var second = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var management = await second.WaitForManagementAsync(TimeSpan.FromSeconds(90));

        using var viewer = SegctlProcess.Api(management, keys["val"]);
        using (var status = JsonDocument.Parse(await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative))))
        {
            var clients = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
            Assert.All(clients.Values, state => Assert.Equal("suspended", state));
        }

        var failure = await Record.ExceptionAsync(async () => (await alpha.GetAsync(new Uri("https://alpha.test/alpha/after"))).Dispose());
        Assert.True(failure is HttpRequestException or IOException or SocketException, failure?.ToString() ?? "alpha was answered");
        Assert.Equal(hits, _site.UpstreamPaths.Count);
        Assert.Contains("suspension.state does not exist", await second.WaitForOutputAsync("suspension.state does not exist"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("log-append")]
    [InlineData("empty-file")]
    public async Task FirstRun_OnAStoreNoControllerWrote_StartsWithNoClientSuspended_AndLaysTheStateOut(string made)
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("val", "viewer"));
        var policy = _site.WritePolicy("first-run", new Uri(upstream.Urls.First()).Port, proxyPort);
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);

        // The store is there before the first run: an operator's record appended to it, or an empty file.
        if (made == "log-append")
        {
            var (code, _, error) = await SegctlProcess.RunAsync("log", "append", "--store", _site.File("segctl.db"), "--type", "operator-action", "--payload", """{"note":"installed"}""");
            Assert.True(code == 0, error);
        }
        else
        {
            await File.WriteAllBytesAsync(_site.File("segctl.db"), []);
        }

        Assert.False(File.Exists(_site.File("suspension.state")));
        await using var first = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var management = await first.WaitForManagementAsync(TimeSpan.FromSeconds(90));

        using var viewer = SegctlProcess.Api(management, keys["val"]);
        using (var status = JsonDocument.Parse(await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative))))
        {
            var clients = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
            Assert.NotEmpty(clients);
            Assert.All(clients.Values, state => Assert.Equal("active", state));
        }

        await first.WaitForProxyAsync(alpha);
        Assert.True(File.Exists(_site.File("suspension.state")));
        Assert.DoesNotContain("does not exist", first.StandardOutput + first.StandardError, StringComparison.Ordinal);
    }
}
