using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using SegmentController.Core.Suspension;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The real <c>segctl run</c> process on a data directory that comes back empty (no suspension state, no
/// store: a volume not mounted, a directory wiped or restored from an empty backup). Where the policy says
/// the site is in service (<c>controller.in_service: true</c>) it starts with every client suspended; a new
/// site's state is laid out on purpose with <c>segctl state init</c>; without the setting a start on an
/// empty directory is a first start, as before.
/// </summary>
public sealed class InServiceStartTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("in-service");

    public InServiceStartTests()
    {
        // The data directory as systemd's StateDirectory= recreates it: there, and empty.
        Directory.CreateDirectory(DataDirectory);
    }

    private string DataDirectory => _site.File("data");

    private string StatePath => Path.Combine(DataDirectory, "suspension.state");

    private string StorePath => Path.Combine(DataDirectory, "segctl.db");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task InService_EmptyDataDirectory_EveryClientSuspended_ProxyRefuses_StatusSaysSo()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var key = OperatorApiSite.NewKey();
        OperatorApiSite.WriteKeys(_site.File("api-keys"), new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = key }, ("val", "viewer"));
        var policy = WritePolicy("in-service", new Uri(upstream.Urls.First()).Port, proxyPort, "in_service: true");
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);
        using var beta = _site.Agent(LoopbackProxySite.BetaAgent, proxyPort);

        await using var segctl = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(90));

        Assert.All((await ApiStatesAsync(management, key)).Values, state => Assert.Equal("suspended", state));

        var (exit, stdout, stderr) = await SegctlProcess.RunAsync("status", "--url", management.ToString(), "--api-key", key, "--json");
        Assert.True(exit == 1, $"segctl status exited {exit}: {stdout} {stderr}");
        using (var status = JsonDocument.Parse(stdout))
        {
            Assert.All(ClientStates(status.RootElement).Values, state => Assert.Equal("suspended", state));
        }

        // The proxy listens (a connection is taken: the gate may reset it before the connect is seen to complete,
        // but nothing refuses it as a closed port would) and refuses each client's agents.
        using (var probe = new TcpClient())
        {
            var connect = await Record.ExceptionAsync(() => probe.ConnectAsync(IPAddress.Loopback, proxyPort));
            Assert.True(connect is null || connect is SocketException { SocketErrorCode: SocketError.ConnectionReset }, $"nothing took a connection on the proxy's port: {connect}");
        }

        foreach (var agent in new[] { alpha, beta })
        {
            var failure = await Record.ExceptionAsync(async () => (await agent.GetAsync(new Uri(agent.BaseAddress!, "after"))).Dispose());
            Assert.True(failure is HttpRequestException or IOException or SocketException, failure?.ToString() ?? $"{agent.BaseAddress} was answered");
        }

        Assert.Empty(_site.UpstreamPaths);
        var said = await segctl.WaitForOutputAsync("segctl state init --policy FILE");
        Assert.Contains($"{StatePath} does not exist, and the policy says this site's controller is in service (controller.in_service: true)", said, StringComparison.Ordinal);
        Assert.Contains("segctl state init --policy FILE", said, StringComparison.Ordinal);

        // No empty state is laid out; what the controller saves is the site-wide suspension, so the next start stays closed.
        var saved = new FileSuspensionStateStore(StatePath, inService: true).Load();
        Assert.True(saved.State is null || saved.State.AllSuspended, $"{StatePath} lets clients through: {saved.Error}");
    }

    [Fact]
    public async Task InService_StateInitBeforeTheFirstStart_NothingSuspended_Forwards_AndInitIsNotRepeated()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var key = OperatorApiSite.NewKey();
        OperatorApiSite.WriteKeys(_site.File("api-keys"), new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = key }, ("val", "viewer"));
        var policy = WritePolicy("in-service-first", new Uri(upstream.Urls.First()).Port, proxyPort, "in_service: true");
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);

        var (initExit, initOut, initError) = await SegctlProcess.RunAsync("state", "init", "--policy", policy);
        Assert.True(initExit == 0, $"segctl state init exited {initExit}: {initOut} {initError}");
        Assert.Contains($"{StatePath}: empty suspension state laid out for the first start of site in-service-first", initOut, StringComparison.Ordinal);
        Assert.DoesNotContain("note:", initOut, StringComparison.Ordinal);
        Assert.True(File.Exists(StatePath));

        await using (var segctl = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0"))
        {
            var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(90));
            Assert.All((await ApiStatesAsync(management, key)).Values, state => Assert.Equal("active", state));

            await segctl.WaitForProxyAsync(alpha);
            Assert.Contains("/alpha/before", _site.UpstreamPaths);
            Assert.DoesNotContain("does not exist", segctl.StandardOutput + segctl.StandardError, StringComparison.Ordinal);
            segctl.Signal(NativeMethods.SigKill);
            await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        // Laid out once: a second init changes nothing.
        var laidOut = await File.ReadAllBytesAsync(StatePath);
        var (again, _, againError) = await SegctlProcess.RunAsync("state", "init", "--policy", policy);
        Assert.Equal(2, again);
        Assert.Contains($"{StatePath} already exists", againError, StringComparison.Ordinal);
        Assert.Equal(laidOut, await File.ReadAllBytesAsync(StatePath));

        // The state lost after a controller ran here: init refuses to stand in for it.
        File.Delete(StatePath);
        var (lost, _, lostError) = await SegctlProcess.RunAsync("state", "init", "--policy", policy);
        Assert.Equal(2, lost);
        Assert.Contains($"{StatePath} does not exist, but the evidence store {StorePath} holds the records of a controller that ran here", lostError, StringComparison.Ordinal);
        Assert.False(File.Exists(StatePath));
    }

    [Theory]
    [InlineData("")]
    [InlineData("in_service: false")]
    public async Task NotInService_EmptyDataDirectory_FirstStart_NothingSuspended_Forwards(string setting)
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var key = OperatorApiSite.NewKey();
        OperatorApiSite.WriteKeys(_site.File("api-keys"), new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = key }, ("val", "viewer"));
        var policy = WritePolicy("not-in-service", new Uri(upstream.Urls.First()).Port, proxyPort, setting);
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);

        await using var segctl = SegctlProcess.Start("run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(90));

        Assert.All((await ApiStatesAsync(management, key)).Values, state => Assert.Equal("active", state));

        await segctl.WaitForProxyAsync(alpha);
        Assert.True(File.Exists(StatePath));
    }

    [Fact]
    public async Task StateInit_RunByRoot_GivesTheFileTheDataDirectorysOwner()
    {
        Assert.Equal("0", (await ExternalTool.RunAsync("id", _site.Directory, "-u")).Output.Trim());
        var chown = await ExternalTool.RunAsync("chown", _site.Directory, "65534:65534", DataDirectory);
        Assert.True(chown.ExitCode == 0, chown.Output);
        var policy = WritePolicy("owner", upstreamPort: 9, proxyPort: LoopbackProxySite.FreePort(), "in_service: true");

        var (exit, stdout, stderr) = await SegctlProcess.RunAsync("state", "init", "--policy", policy);

        Assert.True(exit == 0, $"segctl state init exited {exit}: {stdout} {stderr}");
        var owner = await ExternalTool.RunAsync("stat", _site.Directory, "-c", "%u:%g", StatePath);
        Assert.Equal("65534:65534", owner.Output.Trim());
        Assert.False(File.Exists(StatePath + ".tmp"));
    }

    [Fact]
    public async Task StateInit_BrokenPolicy_ClearErrorExitsTwo_NothingLaidOut()
    {
        var policy = WritePolicy("broken", upstreamPort: 9, proxyPort: LoopbackProxySite.FreePort(), "in_service: yes please");

        var (exit, stdout, stderr) = await SegctlProcess.RunAsync("state", "init", "--policy", policy);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains($"{policy}:", stderr, StringComparison.Ordinal);
        Assert.Contains("'in_service' in controller must be true or false, found 'yes please'", stderr, StringComparison.Ordinal);
        Assert.Contains("the policy does not load; nothing laid out", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(DataDirectory));
    }

    // The loopback site's policy with its store (and so its state) in the data directory, and a line added under controller.
    private string WritePolicy(string siteId, int upstreamPort, int proxyPort, string controllerLine)
    {
        var path = _site.WritePolicy(siteId, upstreamPort, proxyPort);
        var text = File.ReadAllText(path);
        var store = $"  store:\n    path: {_site.File("segctl.db")}\n";
        Assert.Contains(store, text, StringComparison.Ordinal);
        text = text.Replace(store, $"  store:\n    path: {StorePath}\n" + (controllerLine.Length > 0 ? $"  {controllerLine}\n" : ""), StringComparison.Ordinal);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<Dictionary<string, string?>> ApiStatesAsync(Uri management, string key)
    {
        using var viewer = SegctlProcess.Api(management, key);
        using var status = JsonDocument.Parse(await viewer.GetStringAsync(new Uri("api/v1/status", UriKind.Relative)));
        var clients = ClientStates(status.RootElement);
        Assert.Equal(["alpha", "beta"], clients.Keys.Order(StringComparer.Ordinal));
        return clients;
    }

    private static Dictionary<string, string?> ClientStates(JsonElement status) =>
        status.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
}
