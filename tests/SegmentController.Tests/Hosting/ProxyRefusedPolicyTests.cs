using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SegmentController.Core.Evidence;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// <c>segctl run</c> (a real process, the real inline proxy, a real HTTPS upstream, the SQLite store) offered a
/// policy the proxy cannot serve: one that moves host legacy.test from alpha to beta and also has a path prefix
/// that makes no route, or an upstream CA bundle that cannot be read. The controller refuses it whole: the
/// reload is rejected, logged with the reason and recorded, the policy in force stays everywhere, alpha still
/// reaches legacy.test, and nobody is found asking for another client's system. At start such a policy stops
/// segctl with the reason.
/// </summary>
public sealed partial class ProxyRefusedPolicyTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("refused-policy");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _site.Dispose();
    }

    [Fact]
    public async Task Sighup_PolicyTheProxyCannotServe_RefusedWhole_LastGoodPolicyServesAndNoCrossClientFinding()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var proxyPort = LoopbackProxySite.FreePort();
        OperatorApiSite.WriteKeys(_site.File("api-keys"), new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() }, ("val", "viewer"));
        var policyPath = _site.WritePolicy("refused", upstreamPort, proxyPort);
        var site = File.ReadAllText(policyPath);
        var good = site.Replace("hosts: [alpha.test]", "hosts: [alpha.test, legacy.test]", StringComparison.Ordinal);
        File.WriteAllText(policyPath, good);

        // legacy.test moves to beta in each of these; each has something the proxy cannot serve besides.
        var moved = good
            .Replace("hosts: [alpha.test, legacy.test]", "hosts: [alpha.test]", StringComparison.Ordinal)
            .Replace("hosts: [beta.test]", "hosts: [beta.test, legacy.test]", StringComparison.Ordinal);
        var certificateLine = Regex.Match(moved, "upstream_ca: (.*)").Groups[1].Value;
        File.WriteAllText(_site.File("not-a-ca.pem"), "not a certificate\n");
        Assert.Equal(0, NativeMethods.MkFifo(_site.File("ca-pipe.pem"), Convert.ToUInt32("600", 8)));
        var refused = new (string Name, string Policy, string Reason)[]
        {
            ("a path prefix with '//'", moved.Replace("hosts: [beta.test, legacy.test]", "hosts: [beta.test, legacy.test]\n        paths: [\"/\", \"/x//y\"]", StringComparison.Ordinal), $@"{Regex.Escape(policyPath)}:\d+:\d+: path '/x//y' is not a path prefix"),
            ("a path prefix with '?'", moved.Replace("hosts: [beta.test, legacy.test]", "hosts: [beta.test, legacy.test]\n        paths: [\"/ws?x\"]", StringComparison.Ordinal), $@"{Regex.Escape(policyPath)}:\d+:\d+: path '/ws\?x' is not a path prefix"),
            ("a path prefix with '{'", moved.Replace("hosts: [beta.test, legacy.test]", "hosts: [beta.test, legacy.test]\n        paths: [\"/a{id\"]", StringComparison.Ordinal), $@"{Regex.Escape(policyPath)}:\d+:\d+: path '/a\{{id' is not a path prefix"),
            ("an upstream CA bundle that does not exist", moved.Replace($"upstream_ca: {certificateLine}", $"upstream_ca: {_site.File("no-such-ca.pem")}", StringComparison.Ordinal), @"the proxy cannot serve this policy: upstream CA file .*no-such-ca\.pem \(controller\.proxy\.upstream_ca\) cannot be read"),
            ("an upstream CA bundle with no certificate", moved.Replace($"upstream_ca: {certificateLine}", $"upstream_ca: {_site.File("not-a-ca.pem")}", StringComparison.Ordinal), @"the proxy cannot serve this policy: upstream CA file .*not-a-ca\.pem \(controller\.proxy\.upstream_ca\) holds no certificate"),
            ("an upstream CA bundle that is a named pipe", moved.Replace($"upstream_ca: {certificateLine}", $"upstream_ca: {_site.File("ca-pipe.pem")}", StringComparison.Ordinal), @"the proxy cannot serve this policy: upstream CA file .*ca-pipe\.pem \(controller\.proxy\.upstream_ca\) cannot be read: it is a named pipe \(FIFO\), not a regular file"),
        };

        await using var segctl = SegctlProcess.Start("run", "--policy", policyPath, "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        var sha = PolicySha(await _http.GetStringAsync(new Uri(management, "/metrics")));
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);
        using (var before = await alpha.GetAsync(new Uri("https://legacy.test/before")))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        for (var i = 0; i < refused.Length; i++)
        {
            var (name, policy, reason) = refused[i];
            File.WriteAllText(policyPath, policy);
            segctl.Signal(NativeMethods.SigHup);
            var metrics = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains($"segctl_policy_reloads_total{{outcome=\"rejected\"}} {i + 1}", StringComparison.Ordinal));

            Assert.True(metrics.Contains($"segctl_policy_reloads_total{{outcome=\"rejected\"}} {i + 1}", StringComparison.Ordinal), $"{name}: the reload was not refused; policy log lines: {PolicyLines(segctl)}");
            Assert.Contains("segctl_policy_reloads_total{outcome=\"applied\"} 0", metrics, StringComparison.Ordinal);
            Assert.Equal(sha, PolicySha(metrics));
            await WaitForOutputAsync(segctl, reason);
            Assert.True(Regex.IsMatch(segctl.StandardOutput + segctl.StandardError, reason), $"{name}: no log line matching {reason}; policy log lines: {PolicyLines(segctl)}");

            // The proxy still serves the policy in force: legacy.test is alpha's, and alpha reaches it.
            using var kept = await alpha.GetAsync(new Uri($"https://legacy.test/kept-{i}"));
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
            Assert.Contains($"/kept-{i}", _site.UpstreamPaths);
        }

        var after = await _http.GetStringAsync(new Uri(management, "/metrics"));
        Assert.DoesNotMatch("rule=\"cross-client-request\"[^}]*\\} [1-9]", after);
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 0", after, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"beta\"} 0", after, StringComparison.Ordinal);

        // The same move without the fault is applied: beta now reaches legacy.test.
        File.WriteAllText(policyPath, moved);
        segctl.Signal(NativeMethods.SigHup);
        after = await SegctlProcess.PollMetricsAsync(_http, management, m => m.Contains("segctl_policy_reloads_total{outcome=\"applied\"} 1", StringComparison.Ordinal));
        Assert.Contains("segctl_policy_reloads_total{outcome=\"applied\"} 1", after, StringComparison.Ordinal);
        using (var beta = _site.Agent(LoopbackProxySite.BetaAgent, proxyPort))
        {
            HttpStatusCode status = 0;
            var applied = DateTime.UtcNow.AddSeconds(60);
            while (status != HttpStatusCode.OK && DateTime.UtcNow < applied)
            {
                using var response = await beta.GetAsync(new Uri("https://legacy.test/moved"));
                status = response.StatusCode;
                if (status != HttpStatusCode.OK)
                {
                    await Task.Delay(50);
                }
            }

            Assert.Equal(HttpStatusCode.OK, status);
        }

        segctl.Signal(NativeMethods.SigTerm);
        Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // Each refusal is in the chain as every refused reload is: an operator action, outcome rejected, its reason.
        var exportPath = _site.File("export.jsonl");
        var (exported, _, exportError) = await SegctlProcess.RunAsync("log", "export", "--store", _site.File("segctl.db"), "--out", exportPath);
        Assert.True(exported == 0, exportError);
        var rejections = File.ReadAllLines(exportPath)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(l => l.TryGetProperty("type", out var t) && t.GetString() == RecordTypes.OperatorAction
                && l.GetProperty("payload").GetProperty("action").GetString() == "policy-reload"
                && l.GetProperty("payload").GetProperty("outcome").GetString() == "rejected")
            .Select(l => string.Join('\n', l.GetProperty("payload").GetProperty("errors").EnumerateArray().Select(e => e.GetString())))
            .ToArray();
        Assert.Equal(refused.Length, rejections.Length);
        for (var i = 0; i < refused.Length; i++)
        {
            Assert.Matches(refused[i].Reason, rejections[i]);
        }
    }

    [Theory]
    [InlineData("path")]
    [InlineData("ca")]
    public async Task Run_PolicyTheProxyCannotServe_DoesNotStart_AndSaysWhy(string fault)
    {
        var proxyPort = LoopbackProxySite.FreePort();
        var policyPath = _site.WritePolicy("refused-at-start", LoopbackProxySite.FreePort(), proxyPort);
        var site = File.ReadAllText(policyPath);
        var certificateLine = Regex.Match(site, "upstream_ca: (.*)").Groups[1].Value;
        File.WriteAllText(policyPath, fault == "path"
            ? site.Replace("hosts: [beta.test]", "hosts: [beta.test]\n        paths: [\"/x//y\"]", StringComparison.Ordinal)
            : site.Replace($"upstream_ca: {certificateLine}", $"upstream_ca: {_site.File("no-such-ca.pem")}", StringComparison.Ordinal));

        var (exit, _, stderr) = await SegctlProcess.RunAsync("run", "--policy", policyPath, "--management-listen", "127.0.0.1:0");

        Assert.NotEqual(0, exit);
        Assert.Matches(
            fault == "path"
                ? $@"{Regex.Escape(policyPath)}:\d+:\d+: path '/x//y' is not a path prefix: it has an empty segment"
                : @"the proxy cannot serve the policy .*: upstream CA file .*no-such-ca\.pem \(controller\.proxy\.upstream_ca\) cannot be read: no such file",
            stderr);
        Assert.DoesNotContain("Unable to load or apply the proxy configuration", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("oversized", @"cannot be read: the bundle is larger than 1 MiB")]
    [InlineData("fifo", @"cannot be read: it is a named pipe \(FIFO\), not a regular file")]
    public async Task Run_UpstreamCaBundleNotAReadableBundle_ExitsTwoNamingTheFileAndItsKey(string kind, string reason)
    {
        var policyPath = _site.WritePolicy("bad-ca-at-start", LoopbackProxySite.FreePort(), LoopbackProxySite.FreePort());
        var site = File.ReadAllText(policyPath);
        var certificateLine = Regex.Match(site, "upstream_ca: (.*)").Groups[1].Value;
        var bundle = _site.File($"{kind}-ca.pem");
        if (kind == "oversized")
        {
            // A real bundle with 2 MiB of zeros after it: nothing of it may be read past the cap.
            File.Copy(certificateLine, bundle);
            using var file = new FileStream(bundle, FileMode.Open, FileAccess.Write);
            file.SetLength(file.Length + 2 * 1024 * 1024);
        }
        else
        {
            Assert.Equal(0, NativeMethods.MkFifo(bundle, Convert.ToUInt32("600", 8)));
        }

        File.WriteAllText(policyPath, site.Replace($"upstream_ca: {certificateLine}", $"upstream_ca: {bundle}", StringComparison.Ordinal));

        // A deadline of its own: a start that waits for a pipe's writer fails here instead of hanging.
        await using var segctl = SegctlProcess.Start("run", "--policy", policyPath, "--management-listen", "127.0.0.1:0");
        var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, exit);
        Assert.Matches($@"upstream CA file {Regex.Escape(bundle)} \(controller\.proxy\.upstream_ca\) {reason}", segctl.StandardError);
        Assert.DoesNotContain("management listener:", segctl.StandardOutput, StringComparison.Ordinal);
    }

    private static string PolicyLines(SegctlProcess segctl) => string.Join(
        Environment.NewLine,
        (segctl.StandardOutput + segctl.StandardError).Split('\n').Where(l => l.Contains("olicy", StringComparison.Ordinal) || l.Contains("proxy", StringComparison.Ordinal)).TakeLast(20));

    private static string PolicySha(string metrics) =>
        Regex.Match(metrics, @"segctl_policy_info\{site=""[^""]+"",sha256=""([0-9a-f]{64})""\} 1").Groups[1].Value;

    private static async Task WaitForOutputAsync(SegctlProcess segctl, string pattern)
    {
        // The console logger writes on its own thread: the log line may trail the metric.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Regex.IsMatch(segctl.StandardOutput + segctl.StandardError, pattern) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}
