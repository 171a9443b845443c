using System.Diagnostics;
using System.Text.Json;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Lab;

/// <summary>
/// The README's first command, run as a newcomer would (as root), in a lab of its own: its own namespace
/// prefix, state directory and host-side management port, so it runs beside a newcomer's lab. The
/// scenario's outcome (lab/out/scenario.json) is what the narration printed, checked here.
/// </summary>
public sealed class LabDemoTests : IDisposable
{
    private readonly string _prefix = "segt" + Guid.NewGuid().ToString("N")[..6];
    private readonly string _state = Path.Combine(Path.GetTempPath(), "segctl-lab-" + Guid.NewGuid().ToString("N"));
    private readonly string _out = Directory.CreateTempSubdirectory("segctl-lab-out-").FullName;
    private readonly int _managementPort = ExternalTool.FreeLoopbackPort();

    [Fact]
    public async Task Demo_PlaysTheLeakScenario_AndDownRemovesEverything()
    {
        var (code, output) = await RunLabScriptAsync("demo.sh", TimeSpan.FromMinutes(6));

        Assert.True(code == 0, output);
        Assert.Contains("segctl's answer", output, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{_managementPort}/metrics", output, StringComparison.Ordinal);

        var text = await File.ReadAllTextAsync(Path.Combine(_out, "scenario.json"));
        using var scenario = JsonDocument.Parse(text);
        var root = scenario.RootElement;
        Assert.Equal("assistring", root.GetProperty("client").GetString());
        Assert.Contains("assistring", root.GetProperty("suspended_clients").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("northwind", root.GetProperty("suspended_clients").EnumerateArray().Select(e => e.GetString()));
        Assert.StartsWith("INC-", root.GetProperty("incident_id").GetString(), StringComparison.Ordinal);
        Assert.True(root.GetProperty("trigger").GetString() == "finding", text);
        Assert.True(root.GetProperty("rule").GetString() is "cross-client-flow" or "vlan-subnet-mismatch", text);

        var stages = root.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(new[] { "persist", "gate", "inflight", "upstream-pool", "switch-ports", "webhooks" }, stages.Select(s => s.GetProperty("stage").GetString()));
        Assert.All(stages, s => Assert.True(s.GetProperty("succeeded").GetBoolean(), s.ToString()));
        Assert.All(stages, s => Assert.True(s.GetProperty("seconds").GetDouble() >= 0));

        // What the client's system saw after the trip, and what the switch says, read outside segctl.
        Assert.True(root.GetProperty("upstream_requests_after_ack").GetInt32() == 0, text);
        Assert.All(root.GetProperty("agents_after_trip").EnumerateArray(), a => Assert.StartsWith("refused", a.GetString(), StringComparison.Ordinal));
        var portsTripped = root.GetProperty("port_oper_status_after_trip").EnumerateObject().ToList();
        Assert.Equal(new[] { "swp1", "swp2", "swp3" }, portsTripped.Select(p => p.Name));
        Assert.True(portsTripped.All(p => p.Value.GetString() == "down"), text);
        Assert.True(root.GetProperty("signed_notices_received").GetInt32() >= 1);

        // A restart while suspended keeps the client suspended and shuts the port brought up meanwhile.
        var restart = root.GetProperty("restart");
        Assert.True(restart.GetProperty("port_brought_up_while_down").GetString() == "up", text);
        Assert.True(restart.GetProperty("port_after_restart").GetString() == "down", text);
        Assert.True(restart.GetProperty("client_state_after_restart").GetString() == "suspended", text);

        // The audit over the leak's window fails; the next one, over clean traffic, passes.
        Assert.True(root.GetProperty("audit_over_the_leak").GetProperty("result").GetString() == "fail", text);
        Assert.True(root.GetProperty("audit_after_the_leak").GetProperty("result").GetString() == "pass", text + output);

        // The restore by two approvers brought everything back.
        Assert.NotEmpty(root.GetProperty("restore_ids").EnumerateArray());
        Assert.True(root.GetProperty("port_oper_status_after_restore").EnumerateObject().All(p => p.Value.GetString() == "up"), text);
        Assert.True(root.GetProperty("agents_after_restore").EnumerateArray().All(a => a.GetString() == "200"), text);
        Assert.True(root.GetProperty("state_after_restore").EnumerateObject().All(c => c.Value.GetString() == "active"), text + output);

        // The evidence store the lab's segctl wrote verifies, and holds the trip.
        var store = Path.Combine(_state, "segctl.db");
        var (verifyCode, verifyOutput) = await ExternalTool.RunAsync(Path.Combine(AppContext.BaseDirectory, "segctl"), RepositoryPaths.Root, "log", "verify", "--store", store);
        Assert.True(verifyCode == 0, verifyOutput);

        var (downCode, downOutput) = await RunLabScriptAsync("down.sh", TimeSpan.FromMinutes(1));
        Assert.True(downCode == 0, downOutput);
        Assert.Empty(await NamespacesAsync());
        Assert.False(Directory.Exists(_state));
    }

    public void Dispose()
    {
        // Whatever the test's outcome, nothing of this lab stays behind.
        RunLabScriptAsync("down.sh", TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }

    private async Task<string[]> NamespacesAsync()
    {
        var (_, output) = await ExternalTool.RunAsync("ip", RepositoryPaths.Root, "netns", "list");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith(_prefix + "-", StringComparison.Ordinal)).ToArray();
    }

    private async Task<(int ExitCode, string Output)> RunLabScriptAsync(string script, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        info.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "lab", script));
        info.Environment["LAB_NS_PREFIX"] = _prefix;
        info.Environment["LAB_STATE"] = _state;
        info.Environment["LAB_OUT"] = _out;
        info.Environment["LAB_MANAGEMENT_PORT"] = _managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["SEGCTL"] = Path.Combine(AppContext.BaseDirectory, "segctl");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"lab/{script} did not finish within {timeout}:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
