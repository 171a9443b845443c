using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Capture;
using SegmentController.Core.Policy;
using SegmentController.Findings;
using SegmentController.Health;
using SegmentController.Metrics;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Capture;

/// <summary>
/// The hosted capture service on a real wire: a veth pair whose far end sits in a namespace the test
/// creates; tcpreplay puts the leaky-site capture on it; findings reach the pipeline and metrics.
/// </summary>
public sealed class CaptureServiceTests
{
    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    [Fact]
    public async Task LeakyTrafficOnCapturedInterface_FindingsPublishedMetricsAndHealthReported()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        var ns = $"segsvc-{id}";
        var capture = $"ssc{id}";
        var sender = $"sss{id}";
        Run("ip", "netns", "add", ns);
        try
        {
            Run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1");
            Run("ip", "link", "add", capture, "type", "veth", "peer", "name", sender, "netns", ns);
            Run("sysctl", "-q", "-w", $"net.ipv6.conf.{capture}.disable_ipv6=1");
            Run("ip", "link", "set", capture, "up");
            Run("ip", "netns", "exec", ns, "ip", "link", "set", sender, "up");

            var loaded = PolicyProvider.TryOpen(Fixture("site.yaml"), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
            var policy = loaded.Current with
            {
                Controller = loaded.Current.Controller with
                {
                    Capture = loaded.Current.Controller.Capture with { Interfaces = [new CaptureInterface { Name = capture, SnapLength = 2048, BufferMiB = 8 }] },
                },
            };
            var provider = new PolicyProvider(Fixture("site.yaml"), policy);
            var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
            var health = new VerificationHealth(metrics, TimeProvider.System, NullLogger<VerificationHealth>.Instance);
            var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
            using var service = new CaptureService(provider, pipeline, metrics, health, TimeProvider.System, NullLogger<CaptureService>.Instance)
            {
                PublishInterval = TimeSpan.FromMilliseconds(200),
            };

            await service.StartAsync(CancellationToken.None);
            try
            {
                Assert.True(await Eventually(() => health.Snapshot().TryGetValue(CaptureService.HealthSource, out var s) && s.Healthy));
                Run("ip", "netns", "exec", ns, "tcpreplay", "-q", "-i", sender, Fixture("leaky-site.pcap"));

                Assert.True(await Eventually(() => pipeline.Recent.Count >= 9), $"{pipeline.Recent.Count} findings");
                Assert.Equal(
                    ["arp-spoofing", "cleartext-to-client", "cross-client-flow", "proxy-bypass", "unknown-mac", "unknown-vlan", "vlan-hopping", "vlan-subnet-mismatch", "weak-tls"],
                    pipeline.Recent.Select(f => f.Rule).Order(StringComparer.Ordinal));
                Assert.True(await Eventually(() => metrics.CapturePacketsTotal.WithLabels(capture).Value >= 32));
                Assert.Equal(32, metrics.CapturePacketsTotal.WithLabels(capture).Value);
                Assert.True(metrics.ClientPacketsTotal.WithLabels("acme").Value > 0);
                Assert.Equal(1, metrics.FindingsTotal.WithLabels("cross-client-flow", "critical", "globex").Value);
                Assert.Equal(0, metrics.CaptureDroppedTotal.WithLabels(capture).Value);
                Assert.Equal(1, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);
            }
            finally
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            TryRun("ip", "link", "del", capture);
            TryRun("ip", "netns", "del", ns);
        }
    }

    [Fact]
    public async Task InterfaceMissing_CaptureUnhealthy()
    {
        var loaded = PolicyProvider.TryOpen(Fixture("site.yaml"), out var errors) ?? throw new InvalidOperationException(string.Join('\n', errors));
        var policy = loaded.Current with
        {
            Controller = loaded.Current.Controller with
            {
                Capture = loaded.Current.Controller.Capture with { Interfaces = [new CaptureInterface { Name = "segsvc-none0" }] },
            },
        };
        var metrics = new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry());
        var health = new VerificationHealth(metrics, TimeProvider.System, NullLogger<VerificationHealth>.Instance);
        var pipeline = new FindingPipeline(metrics, [], NullLogger<FindingPipeline>.Instance);
        using var service = new CaptureService(new PolicyProvider(Fixture("site.yaml"), policy), pipeline, metrics, health, TimeProvider.System, NullLogger<CaptureService>.Instance)
        {
            PublishInterval = TimeSpan.FromMilliseconds(100),
        };

        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(await Eventually(() => health.Snapshot().TryGetValue(CaptureService.HealthSource, out var s) && s.Detail.Contains("segsvc-none0", StringComparison.Ordinal)));
            Assert.False(health.Snapshot()[CaptureService.HealthSource].Healthy);
            Assert.Equal(0, metrics.VerificationHealthy.WithLabels(CaptureService.HealthSource).Value);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition();
    }

    private static void Run(string program, params string[] args)
    {
        var (exit, output) = TryRun(program, args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {exit}: {output}");
        }
    }

    private static (int ExitCode, string Output) TryRun(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
