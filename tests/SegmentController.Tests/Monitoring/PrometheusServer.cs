using System.Diagnostics;
using System.Text.Json;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Monitoring;

/// <summary>The real Prometheus (Debian <c>prometheus</c>) on a free loopback port, queried through its HTTP API.</summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;
    private readonly System.Text.StringBuilder _log = new();

    private PrometheusServer(Process process, int port)
    {
        _process = process;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public static PrometheusServer Start(string configFile, string dataDirectory)
    {
        var port = ExternalTool.FreeLoopbackPort();
        var process = new Process
        {
            StartInfo = new ProcessStartInfo("prometheus")
            {
                ArgumentList =
                {
                    $"--config.file={configFile}",
                    $"--storage.tsdb.path={dataDirectory}",
                    $"--web.listen-address=127.0.0.1:{port}",
                },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            },
        };
        var server = new PrometheusServer(process, port);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return server;
    }

    /// <summary>An instant query's <c>data.result</c> array.</summary>
    public async Task<JsonElement> QueryAsync(string promql)
    {
        var body = await _http.GetStringAsync(new Uri("api/v1/query?query=" + Uri.EscapeDataString(promql), UriKind.Relative));
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>The loaded rule groups (<c>/api/v1/rules</c>: <c>data.groups</c>), with each rule's health and state.</summary>
    public async Task<JsonElement> RulesAsync()
    {
        var body = await _http.GetStringAsync(new Uri("api/v1/rules", UriKind.Relative));
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("data").GetProperty("groups").Clone();
    }

    /// <summary>Queries until the result satisfies <paramref name="done"/> (scrapes and rule evaluations take their time).</summary>
    public Task<JsonElement> WaitForAsync(string promql, Func<JsonElement, bool> done, TimeSpan timeout) =>
        WaitForAsync(() => QueryAsync(promql), done, timeout, promql);

    /// <summary>Reads the rule groups until they satisfy <paramref name="done"/>.</summary>
    public Task<JsonElement> WaitForRulesAsync(Func<JsonElement, bool> done, TimeSpan timeout) =>
        WaitForAsync(RulesAsync, done, timeout, "rules");

    private async Task<JsonElement> WaitForAsync(Func<Task<JsonElement>> read, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {_process.ExitCode}: {Log()}");
            }

            try
            {
                last = await read();
                if (done(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Still starting.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"'{what}' never gave the expected result; last: {(last.ValueKind == JsonValueKind.Undefined ? "none" : last.GetRawText())}; prometheus log: {Log()}");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private string Log()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
