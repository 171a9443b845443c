using System.Diagnostics;
using System.Text.RegularExpressions;
using SegmentController.Capture.Tests.Support;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// <c>segctl run</c> with <c>on_verification_lost: suspend</c> when the evidence it verifies isolation
/// from goes away, as a site engineer meets it: a mirror interface that is not there. Verification lost
/// suspends; verification that comes back lifts nothing (that takes operators).
/// </summary>
public sealed class VerificationLostTests : IDisposable
{
    private const string SiteTrip = "segctl_killswitch_trips_total{client=\"all\",trigger=\"verification-lost\"} 1";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-verification-lost-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    /// <summary>The capture corpus site, capturing on <paramref name="interfaceName"/>, without switches.</summary>
    private string WriteCapturePolicy(string interfaceName)
    {
        var yaml = File.ReadAllText(Fixture("site.yaml"))
            .Replace("    interfaces: []", $"    interfaces: [{{name: {interfaceName}, snaplen: 2048, buffer_mib: 8}}]", StringComparison.Ordinal)
            .Replace("    silence: 60s", "    silence: 1s", StringComparison.Ordinal)
            .Replace("  capture:\n", $"  store:\n    path: {Path.Combine(_dir, "segctl.db")}\n  on_verification_lost: suspend\n  capture:\n", StringComparison.Ordinal);
        yaml = Regex.Replace(yaml, @"^switches:\n(?:[ #].*\n|\n)*(?=clients:)", "switches: []\n\n", RegexOptions.Multiline);
        var path = Path.Combine(_dir, "site.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Run_MirrorInterfaceMissing_SuspendsEveryClientAndKeepsThemSuspendedWhenItReturns()
    {
        using var lab = new VethLab(mirror: false);
        lab.DeleteCaptureInterface();
        await using var segctl = SegctlProcess.Start("run", "--policy", WriteCapturePolicy(lab.CaptureInterface), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));

        // Nothing can be captured: once the silence has passed, isolation is unverified and every client is cut.
        var metrics = await PollMetricsAsync(management, m => m.Contains(SiteTrip, StringComparison.Ordinal));
        Assert.True(metrics.Contains(SiteTrip, StringComparison.Ordinal), $"no verification-lost trip while {lab.CaptureInterface} is missing:\n{Lines(metrics)}");
        Assert.Contains("segctl_client_suspended{client=\"acme\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"globex\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_verification_healthy{source=\"capture\"} 0", metrics, StringComparison.Ordinal);

        // The interface appears: capture opens it and verifies again, and the suspension stays for operators to lift.
        lab.RecreateCaptureInterface();
        var deadline = Stopwatch.StartNew();
        do
        {
            lab.Replay(Fixture("clean-site.pcap"));
            metrics = await _http.GetStringAsync(new Uri(management, "/metrics"));
        }
        while (!metrics.Contains("segctl_verification_healthy{source=\"capture\"} 1", StringComparison.Ordinal) && deadline.Elapsed < TimeSpan.FromSeconds(60));

        Assert.True(metrics.Contains("segctl_verification_healthy{source=\"capture\"} 1", StringComparison.Ordinal), Lines(metrics));
        Assert.Contains("segctl_client_suspended{client=\"acme\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"globex\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(SiteTrip, metrics, StringComparison.Ordinal);

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private static string Lines(string metrics) =>
        string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("segctl_client_suspended", StringComparison.Ordinal)
            || l.StartsWith("segctl_killswitch_trips_total", StringComparison.Ordinal)
            || l.StartsWith("segctl_verification_healthy", StringComparison.Ordinal)
            || l.StartsWith("segctl_findings_total", StringComparison.Ordinal)));

    private async Task<string> PollMetricsAsync(Uri management, Func<string, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        string metrics;
        do
        {
            metrics = await _http.GetStringAsync(new Uri(management, "/metrics"));
            if (done(metrics))
            {
                return metrics;
            }

            await Task.Delay(100);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(30));
        return metrics;
    }
}
