using System.Diagnostics;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// snmpsimd serving the authored <c>Data/*.snmprec</c> files on a loopback port. The community selects
/// the file: <c>qbridge</c>, <c>cisco</c>, <c>cisco@10</c>, …
/// </summary>
internal sealed class SnmpsimAgent : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private SnmpsimAgent(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Target => $"127.0.0.1:{Port}";

    public static async Task<SnmpsimAgent> StartAsync(string? dataDirectory = null)
    {
        var directory = Directory.CreateTempSubdirectory("segctl-snmpsim-").FullName;
        var data = Path.Combine(directory, "data");
        var cache = Path.Combine(directory, "cache");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(cache);
        foreach (var file in Directory.GetFiles(dataDirectory ?? Path.Combine(AppContext.BaseDirectory, "Data"), "*.snmprec"))
        {
            File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        }

        // snmpsimd refuses to run as root; it drops to nobody, who must be able to read and write here.
        if (!OperatingSystem.IsWindows())
        {
            foreach (var path in new[] { directory, data, cache })
            {
                File.SetUnixFileMode(path, (UnixFileMode)0x1FF);
            }
        }

        var port = FreePort.Udp();
        var info = new ProcessStartInfo("snmpsimd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            $"--data-dir={data}", $"--cache-dir={cache}", $"--agent-udpv4-endpoint=127.0.0.1:{port}",
            "--process-user=nobody", "--process-group=nogroup", "--logging-method=null",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start snmpsimd");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var agent = new SnmpsimAgent(process, directory, port);
        await agent.WaitReadyAsync(Path.GetFileNameWithoutExtension(Directory.GetFiles(data, "*.snmprec")[0]));
        return agent;
    }

    private async Task WaitReadyAsync(string community)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"snmpsimd exited with {_process.ExitCode}");
            }

            var (code, _, _) = await ExternalProcess.RunAsync("snmpgetnext", ["-v2c", "-c", community, "-t", "1", "-r", "0", Target, "1.3"]);
            if (code == 0)
            {
                return;
            }

            await Task.Delay(300);
        }

        throw new TimeoutException("snmpsimd did not start answering");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
