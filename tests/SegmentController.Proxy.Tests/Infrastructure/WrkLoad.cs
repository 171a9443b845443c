using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// The load generator wrk (Debian <c>wrk</c>), run in an agent namespace so its connections come from
/// that segment's address: it sends one request after another on each of its keep-alive connections
/// (connecting again whenever one is closed or refused) until stopped. Stopping it (SIGINT) makes it
/// report, as wrk does on Ctrl-C, and its script's <c>done</c> adds the counts in a line of their own.
/// A wrk still running when this is disposed is killed.
/// </summary>
internal sealed partial class WrkLoad : IAsyncDisposable
{
    private const int SigInt = 2;

    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly string _script;

    private WrkLoad(Process process, string script)
    {
        _process = process;
        _script = script;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>
    /// Starts wrk in <paramref name="agents"/> against <paramref name="url"/> (https: the proxy's
    /// listener), each request naming <paramref name="host"/>; with <paramref name="bodyBytes"/> it POSTs
    /// that many bytes, without it it GETs.
    /// </summary>
    public static WrkLoad Start(AgentNamespace agents, Uri url, string host, int connections, int? bodyBytes = null)
    {
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(url);
        var script = Path.Combine(Path.GetTempPath(), $"segctl-wrk-{Guid.NewGuid():N}.lua");
        File.WriteAllText(script, Script(host, bodyBytes));
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // One thread (the machine is shared); a duration far past any test, which stops it long before;
        // a request timeout no busy machine reaches, so a late answer is not counted as a failure.
        var command = agents.Command("wrk", "--threads", "1", "--connections", connections.ToString(CultureInfo.InvariantCulture), "--duration", "10m", "--timeout", "60s", "--script", script, url.ToString());
        start.FileName = command[0];
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            return new WrkLoad(Process.Start(start) ?? throw new InvalidOperationException("cannot start wrk"), script);
        }
        catch
        {
            File.Delete(script);
            throw;
        }
    }

    /// <summary>Whether wrk has ended (by itself: it never should before it is stopped).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>wrk's exit status and all it printed, once it has ended.</summary>
    public async Task<string> OutputAfterExitAsync()
    {
        await _process.WaitForExitAsync();
        return $"wrk exited {_process.ExitCode}: {await _stdout}{await _stderr}";
    }

    /// <summary>Stops wrk as Ctrl-C does and returns its report.</summary>
    public async Task<WrkReport> StopAsync(TimeSpan guard)
    {
        if (!_process.HasExited && Kill(_process.Id, SigInt) != 0)
        {
            throw new InvalidOperationException($"cannot interrupt wrk (pid {_process.Id}): errno {Marshal.GetLastPInvokeError()}");
        }

        await _process.WaitForExitAsync().WaitAsync(guard);
        var output = await _stdout;
        var errors = await _stderr;
        var summary = SummaryLine().Match(output);
        if (_process.ExitCode != 0 || !summary.Success)
        {
            throw new InvalidOperationException($"wrk exited {_process.ExitCode} without its summary: {output}{errors}");
        }

        long Count(string name) => long.Parse(summary.Groups[name].Value, CultureInfo.InvariantCulture);
        return new WrkReport(
            Count("requests"),
            TimeSpan.FromMicroseconds(Count("duration")),
            Count("connect"),
            Count("read"),
            Count("write"),
            Count("status"),
            Count("timeout"),
            output.Trim());
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Ended meanwhile.
        }

        _process.Dispose();
        File.Delete(_script);
    }

    private static string Script(string host, int? bodyBytes)
    {
        var request = bodyBytes is { } bytes
            ? $"wrk.method = \"POST\"\nwrk.body = string.rep(\"b\", {bytes})\n"
            : "wrk.method = \"GET\"\n";
        return request + $$"""
            wrk.headers["Host"] = "{{host}}"

            function done(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("segctl-wrk requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
                summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
            end
            """;
    }

    [GeneratedRegex(@"^segctl-wrk requests=(?<requests>\d+) duration_us=(?<duration>\d+) connect=(?<connect>\d+) read=(?<read>\d+) write=(?<write>\d+) status=(?<status>\d+) timeout=(?<timeout>\d+)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>What wrk reported when stopped: requests answered, over how long, and each kind of failure it counts.</summary>
internal sealed record WrkReport(long Requests, TimeSpan Duration, long ConnectErrors, long ReadErrors, long WriteErrors, long StatusErrors, long Timeouts, string Output)
{
    /// <summary>Requests answered per second over wrk's whole run.</summary>
    public double RequestsPerSecond => Requests / Duration.TotalSeconds;

    /// <summary>Connections that failed (connect, read, write), requests timed out, and answers neither 2xx nor 3xx.</summary>
    public long Failures => ConnectErrors + ReadErrors + WriteErrors + StatusErrors + Timeouts;
}
