using System.Text.Json;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// A second <c>segctl run</c> started by mistake on a site whose controller runs (same store and suspension state,
/// another listener) must not write the running controller's suspension state: what it would write is its own
/// view, numbered on from what it read, and the file would then hold neither controller's state — a suspension the
/// running one never had (all clients cut at its next start), or one it acknowledged overwritten.
/// </summary>
public sealed class SecondControllerStateTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("second");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task SecondControllerOnTheSameState_WritesNothing_TheRunningOnesStateIsWhatTheNextStartReads()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["alice"] = OperatorApiSite.NewKey(), ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("alice", "operator"), ("val", "viewer"));
        var policy = _site.WritePolicy("second", new Uri(upstream.Urls.First()).Port, proxyPort);
        var otherPolicy = _site.File("site-b.yaml");
        await File.WriteAllTextAsync(otherPolicy, (await File.ReadAllTextAsync(policy)).Replace($"127.0.0.1:{proxyPort}\"", $"127.0.0.1:{LoopbackProxySite.FreePort()}\"", StringComparison.Ordinal));
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);
        string said;

        await using (var running = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await running.WaitForManagementAsync(TimeSpan.FromSeconds(90));
            await running.WaitForProxyAsync(alpha);
            using (var operatorApi = SegctlProcess.Api(management, keys["alice"]))
            using (var suspended = await operatorApi.PostAsync(new Uri("api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("incident 7")))
            {
                Assert.Equal(System.Net.HttpStatusCode.Created, suspended.StatusCode);
            }

            // The mistaken second start: its evidence store is the running one's (locked), and so is its state.
            await using (var second = SegctlProcess.Start("run", "--policy", otherPolicy, "--management-listen", "127.0.0.1:0"))
            {
                await second.WaitForManagementAsync(TimeSpan.FromSeconds(90));
                said = await WaitForEitherAsync(second, "Suspended * (finding) by store", "is in use by another controller");
                second.Signal(NativeMethods.SigTerm);
                await second.WaitForExitAsync(TimeSpan.FromSeconds(60));
            }

            running.Signal(NativeMethods.SigTerm);
            await running.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }

        // The next start reads what the running controller had: alpha suspended, beta not, no site-wide suspension.
        await using var restarted = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var again = await restarted.WaitForManagementAsync(TimeSpan.FromSeconds(90));
        using var viewer = SegctlProcess.Api(again, keys["val"]);
        using var status = JsonDocument.Parse(await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative)));
        Assert.False(status.RootElement.GetProperty("all_suspended").GetBoolean(), status.RootElement.GetProperty("site_suspension").ToString());
        var clients = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
        Assert.Equal("suspended", clients["alpha"]);
        Assert.Equal("active", clients["beta"]);

        // The second controller said why it stays closed and writes nothing.
        Assert.Contains("is in use by another controller", said, StringComparison.Ordinal);
    }

    // What the process printed once it holds either text (60 s at most): which of the two it says is the point.
    private static async Task<string> WaitForEitherAsync(SegctlProcess process, string one, string other)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var said = process.StandardOutput + process.StandardError;
        while (!said.Contains(one, StringComparison.Ordinal) && !said.Contains(other, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            said = process.StandardOutput + process.StandardError;
        }

        return said;
    }
}
