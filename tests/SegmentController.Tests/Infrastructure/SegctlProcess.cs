using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace SegmentController.Tests.Infrastructure;

/// <summary>
/// Runs the real <c>segctl</c> executable (built beside the tests) as a child process, the way an
/// engineer or a script runs it.
/// </summary>
internal sealed partial class SegctlProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();

    private SegctlProcess(Process process)
    {
        _process = process;
    }

    public static string DllPath { get; } = Path.Combine(AppContext.BaseDirectory, "segctl.dll");

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get
        {
            lock (_lock)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Runs segctl to completion and returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunToEndAsync(Start(args));

    /// <summary>Runs segctl to completion with <paramref name="environment"/> added to its environment.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunToEndAsync(StartUnder([], args, environment));

    /// <summary>Runs segctl through <paramref name="command"/> (see <see cref="StartUnder(IReadOnlyList{string}, string[])"/>) to completion.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunUnderAsync(IReadOnlyList<string> command, params string[] args) =>
        RunToEndAsync(StartUnder(command, args));

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunToEndAsync(SegctlProcess started)
    {
        await using var process = started;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process._process.WaitForExitAsync(timeout.Token);
        process._process.WaitForExit();
        return (process._process.ExitCode, process.StandardOutput, process.StandardError);
    }

    /// <summary>Starts segctl and returns at once.</summary>
    public static SegctlProcess Start(params string[] args) => StartUnder([], args);

    /// <summary>
    /// Starts segctl through <paramref name="command"/> (a command and its arguments that then run
    /// <c>dotnet segctl.dll</c>, such as <c>setpriv</c> or <c>prlimit</c>) and returns at once.
    /// </summary>
    public static SegctlProcess StartUnder(IReadOnlyList<string> command, params string[] args) => StartUnder(command, args, null);

    private static SegctlProcess StartUnder(IReadOnlyList<string> command, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(command.Count > 0 ? command[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        if (command.Count > 0)
        {
            foreach (var arg in command.Skip(1))
            {
                info.ArgumentList.Add(arg);
            }

            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(DllPath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var wrapper = new SegctlProcess(process);
        process.OutputDataReceived += (_, e) => wrapper.Append(wrapper._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.Append(wrapper._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>Waits until the management listener's address is printed.</summary>
    public async Task<Uri> WaitForManagementAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var match = ManagementLine().Match(StandardOutput);
            if (match.Success)
            {
                return new Uri(match.Groups[1].Value);
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"segctl exited with {_process.ExitCode}: {StandardError}");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"segctl printed no management listener; stdout: {StandardOutput} stderr: {StandardError}");
    }

    /// <summary>
    /// Waits (60 s at most) until <paramref name="agent"/> gets a 200 for <c>before</c> through this
    /// controller's proxy.
    /// </summary>
    public async Task WaitForProxyAsync(HttpClient agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await agent.GetAsync(new Uri(agent.BaseAddress!, "before"));
                if (response.StatusCode == System.Net.HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            Xunit.Assert.True(DateTime.UtcNow < deadline, $"the proxy never answered; segctl said: {StandardOutput} {StandardError}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Reads the controller's <c>/metrics</c> at <paramref name="management"/> until <paramref name="done"/>
    /// holds for it (60 s at most); returns the last text read.
    /// </summary>
    public static async Task<string> PollMetricsAsync(HttpClient http, Uri management, Func<string, bool> done)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string metrics;
        do
        {
            metrics = await http.GetStringAsync(new Uri(management, "/metrics"));
            if (done(metrics))
            {
                return metrics;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return metrics;
    }

    /// <summary>
    /// What the process printed, once it holds <paramref name="text"/> (60 s at most): the console logger
    /// writes on a thread of its own, so a log line can come after anything else the process did first.
    /// </summary>
    public async Task<string> WaitForOutputAsync(string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(StandardOutput + StandardError).Contains(text, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return StandardOutput + StandardError;
    }

    /// <summary>A client of the management API at <paramref name="management"/> with a bearer key.</summary>
    public static HttpClient Api(Uri management, string key)
    {
        var client = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Sends a POSIX signal (SIGHUP, SIGTERM, SIGKILL) to the process.</summary>
    public void Signal(int signal)
    {
        if (NativeMethods.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            target.AppendLine(line);
        }
    }

    [GeneratedRegex(@"management listener: (\S+)")]
    private static partial Regex ManagementLine();
}
