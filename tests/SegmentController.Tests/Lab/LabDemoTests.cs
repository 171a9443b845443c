using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Lab;

/// <summary>
/// The README's first command as root types it from the repository root, with the environment a lab
/// beside another takes (a namespace prefix, a host port, a state and an output directory of its own,
/// so that it neither meets nor takes down a newcomer's lab or another checkout's), twice in a row — the
/// second run takes the first lab down and plays the story again — then <c>./lab/down.sh</c>, after which
/// nothing of the lab remains: no namespaces, no veths, no processes, no state. Each run's outcome
/// (scenario.json) is checked.
/// </summary>
public sealed partial class LabDemoTests : IDisposable
{
    private readonly string _root;
    private readonly string _labState;
    private readonly string _scenario;
    private readonly string _prefix = "segt" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
    private readonly Dictionary<string, string> _environment;

    public LabDemoTests()
    {
        // snmpsimd runs as nobody and reads its data under the state directory: the path must be open to it.
        _root = Path.Combine(Path.GetTempPath(), "segctl-lab-" + _prefix);
        Directory.CreateDirectory(_root);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        _labState = Path.Combine(_root, "state");
        _scenario = Path.Combine(_root, "out", "scenario.json");
        _environment = new Dictionary<string, string>
        {
            ["LAB_NS_PREFIX"] = _prefix,
            ["LAB_MANAGEMENT_PORT"] = ExternalTool.FreeLoopbackPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LAB_STATE"] = _labState,
            ["LAB_OUT"] = Path.Combine(_root, "out"),
        };
    }

    [Fact]
    public async Task Demo_AsTheReadmeWritesIt_RunsTwiceInARow_AndDownRemovesEverything()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "README.md"));
        // The README opens with the demo and the tests, each as root runs it (as this test does).
        var opening = readme.Split("```sh\n", 2)[1].Split('\n');
        Assert.StartsWith("./lab/demo.sh ", opening[0], StringComparison.Ordinal);
        Assert.StartsWith("./tests/run.sh ", opening[1], StringComparison.Ordinal);
        Assert.Contains("until `./lab/down.sh`", readme, StringComparison.Ordinal);
        Assert.Equal("0", (await ExternalTool.RunAsync("id", RepositoryPaths.Root, "-u")).Output.Trim());

        var first = await RunAsync("./lab/demo.sh", TimeSpan.FromMinutes(8));
        await CheckRunAsync(first, "first run");
        var firstIncident = IncidentOf(await File.ReadAllTextAsync(_scenario));

        File.Delete(_scenario);

        var second = await RunAsync("./lab/demo.sh", TimeSpan.FromMinutes(8));
        Assert.Contains("a lab is up already: taking it down first", second.Output, StringComparison.Ordinal);
        // The first run built segctl if it had to; the second finds the build up to date.
        Assert.Contains("segctl build up to date with the sources", second.Output, StringComparison.Ordinal);
        await CheckRunAsync(second, "second run");
        Assert.NotEqual(firstIncident, IncidentOf(await File.ReadAllTextAsync(_scenario)));

        var processes = LabProcesses();
        Assert.NotEmpty(processes);
        var down = await RunAsync("./lab/down.sh", TimeSpan.FromMinutes(2));

        Assert.True(down.ExitCode == 0, down.Output);
        Assert.Empty(await LabNamespacesAsync());
        Assert.Empty(await LabLinksInRootNamespaceAsync());
        Assert.Empty(processes.Where(p => IsAlive(p.Pid, p.CommandLine)).Select(p => $"{p.Pid} {p.CommandLine}"));
        Assert.Empty(ProcessesMentioning(_labState));
        Assert.False(Directory.Exists(_labState));
        // The outcome of the last run stays for whoever wants to read it.
        Assert.True(File.Exists(_scenario));
    }

    public void Dispose()
    {
        // Whatever the test's outcome, nothing of the lab stays up.
        RunAsync("./lab/down.sh", TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
        Directory.Delete(_root, recursive: true);
    }

    private async Task CheckRunAsync((int ExitCode, string Output) run, string which)
    {
        Assert.True(run.ExitCode == 0, $"{which}: {run.Output}");
        Assert.Contains("segctl's answer", run.Output, StringComparison.Ordinal);
        var metricsUrl = MetricsLine().Match(run.Output);
        Assert.True(metricsUrl.Success, $"{which} printed no metrics URL: {run.Output}");
        Assert.Equal($"http://127.0.0.1:{_environment["LAB_MANAGEMENT_PORT"]}/metrics", metricsUrl.Groups[1].Value);
        // The way down as this run was started: as root itself (sudo only when the run was started with sudo).
        var sudo = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SUDO_USER")) ? "" : "sudo ";
        Assert.Contains($"   Take it down   {sudo}LAB_NS_PREFIX={_prefix} LAB_STATE={_labState} ./lab/down.sh", run.Output, StringComparison.Ordinal);

        // The site stays up after the demo: its metrics answer on the printed URL.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            var metrics = await http.GetStringAsync(new Uri(metricsUrl.Groups[1].Value));
            Assert.Contains("segctl_build_info", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_client_suspended{client=\"assistring\"} 0", metrics, StringComparison.Ordinal);
        }

        var text = await File.ReadAllTextAsync(_scenario);
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
        Assert.True(root.GetProperty("audit_after_the_leak").GetProperty("result").GetString() == "pass", text + run.Output);

        // The restore by two approvers brought everything back.
        Assert.NotEmpty(root.GetProperty("restore_ids").EnumerateArray());
        Assert.True(root.GetProperty("port_oper_status_after_restore").EnumerateObject().All(p => p.Value.GetString() == "up"), text);
        Assert.True(root.GetProperty("agents_after_restore").EnumerateArray().All(a => a.GetString() == "200"), text);
        Assert.True(root.GetProperty("state_after_restore").EnumerateObject().All(c => c.Value.GetString() == "active"), text + run.Output);

        // The evidence store the lab's segctl wrote verifies.
        var (verifyCode, verifyOutput) = await ExternalTool.RunAsync(Path.Combine(AppContext.BaseDirectory, "segctl"), RepositoryPaths.Root, "log", "verify", "--store", Path.Combine(_labState, "segctl.db"));
        Assert.True(verifyCode == 0, verifyOutput);
    }

    private static string IncidentOf(string scenarioJson)
    {
        using var document = JsonDocument.Parse(scenarioJson);
        return document.RootElement.GetProperty("incident_id").GetString()!;
    }

    /// <summary>Every process the lab recorded or runs inside its namespaces, with its command line then.</summary>
    private List<(int Pid, string CommandLine)> LabProcesses()
    {
        var pids = new HashSet<int>();
        var pidDirectory = Path.Combine(_labState, "pids");
        foreach (var file in Directory.Exists(pidDirectory) ? Directory.GetFiles(pidDirectory, "*.pid") : [])
        {
            if (int.TryParse(File.ReadAllText(file).Trim(), out var pid))
            {
                pids.Add(pid);
            }
        }

        foreach (var ns in LabNamespacesAsync().GetAwaiter().GetResult())
        {
            var (_, output) = ExternalTool.RunAsync("ip", RepositoryPaths.Root, "netns", "pids", ns).GetAwaiter().GetResult();
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(line.Trim(), out var pid))
                {
                    pids.Add(pid);
                }
            }
        }

        return pids.Select(p => (p, CommandLine(p))).Where(p => p.Item2 is not null).Select(p => (p.p, p.Item2!)).ToList();
    }

    private static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A pid the kernel gave to another program meanwhile does not count as the lab's.
    private static bool IsAlive(int pid, string commandLine) => CommandLine(pid) == commandLine;

    private static List<string> ProcessesMentioning(string text)
    {
        var found = new List<string>();
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && pid != Environment.ProcessId
                && CommandLine(pid) is { } line && line.Contains(text, StringComparison.Ordinal))
            {
                found.Add($"{pid} {line}");
            }
        }

        return found;
    }

    private async Task<string[]> LabNamespacesAsync()
    {
        var (_, output) = await ExternalTool.RunAsync("ip", RepositoryPaths.Root, "netns", "list");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith(_prefix + "-", StringComparison.Ordinal)).ToArray();
    }

    /// <summary>Interfaces with the lab's names left in the host's own namespace (the lab makes none there).</summary>
    private static async Task<string[]> LabLinksInRootNamespaceAsync()
    {
        var (_, output) = await ExternalTool.RunAsync("ip", RepositoryPaths.Root, "-o", "link", "show");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3)[1].Trim().Split('@')[0])
            .Where(name => LabLinkName().IsMatch(name))
            .ToArray();
    }

    /// <summary>Runs a README command line with bash from the repository root, as root typed it with this lab's environment.</summary>
    private async Task<(int ExitCode, string Output)> RunAsync(string commandLine, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(commandLine);
        // Nothing of the test's own environment tells the lab what to do; only the names of a lab of its own.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("LAB_", StringComparison.Ordinal) || k == "SEGCTL").ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in _environment)
        {
            info.Environment[name] = value;
        }

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
            return (-1, $"{commandLine} did not finish within {timeout}:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"Metrics\s+(http://127\.0\.0\.1:\d+/metrics)")]
    private static partial Regex MetricsLine();

    [GeneratedRegex(@"^(swp\d+|span-sw|span0|sw0|soc|up-[a-z]+|br\d+)$")]
    private static partial Regex LabLinkName();
}
