using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The real <c>segctl run</c> process serving agents through its inline proxy writes nothing into the home
/// directory of its user: under the systemd unit that is the state directory beside the evidence.
/// </summary>
public sealed class ProxyDataProtectionTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("keyring");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task Run_ProxyForwarding_WritesNoKeyRingIntoTheHomeDirectory()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var proxyPort = LoopbackProxySite.FreePort();
        var policy = _site.WritePolicy("keyring", new Uri(upstream.Urls.First()).Port, proxyPort);
        var home = Directory.CreateDirectory(_site.File("home")).FullName;
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);

        await using var segctl = SegctlProcess.StartUnder(["env", $"HOME={home}"], "run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(90));
        await segctl.WaitForProxyAsync(alpha);

        Assert.Contains("/alpha/before", _site.UpstreamPaths);
        Assert.Empty(Directory.EnumerateFileSystemEntries(home, "*", SearchOption.AllDirectories));
        Assert.False(segctl.StandardOutput.Contains("DataProtection", StringComparison.Ordinal), segctl.StandardOutput);
    }
}
