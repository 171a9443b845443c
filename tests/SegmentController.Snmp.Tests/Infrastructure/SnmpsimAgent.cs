using System.Diagnostics;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// snmpsimd serving the authored <c>Data/*.snmprec</c> files on a loopback port. The community selects
/// the file: <c>qbridge</c>, <c>cisco</c>, <c>cisco@10</c>, …; in SNMPv3 the context name does.
/// </summary>
internal sealed class SnmpsimAgent : IAsyncDisposable
{
    /// <summary>The port snmpsimd listens on inside a network namespace (the namespace's own loopback).</summary>
    public const int NamespacePort = 1161;

    private readonly Process _process;
    private readonly string _directory;
    private readonly string? _networkNamespace;

    private SnmpsimAgent(Process process, string directory, int port, string? networkNamespace)
    {
        _process = process;
        _directory = directory;
        _networkNamespace = networkNamespace;
        Port = port;
    }

    public int Port { get; }

    public string Target => $"127.0.0.1:{Port}";

    /// <summary>The SNMPv3 user of <see cref="StartCiscoV3Async"/> (SHA-256, AES; the pass phrases of snmpd's users).</summary>
    public const string V3User = "cisco-v3";

    public static Task<SnmpsimAgent> StartAsync(string? dataDirectory = null)
    {
        var files = Directory.GetFiles(dataDirectory ?? Path.Combine(AppContext.BaseDirectory, "Data"), "*.snmprec");
        return StartAsync(files.Select(f => (Path.GetFileName(f), File.ReadAllText(f))).ToArray(), [], Path.GetFileNameWithoutExtension(files[0]), null);
    }

    /// <summary>
    /// snmpsimd inside <paramref name="networkNamespace"/>, on its loopback at <see cref="NamespacePort"/>,
    /// serving <paramref name="snmprec"/> to v2c community <paramref name="community"/>: reachable only from
    /// the namespace (an snmpd there proxies a subtree to it), so it is nothing of the host's.
    /// </summary>
    public static Task<SnmpsimAgent> StartInNamespaceAsync(string networkNamespace, string community, string snmprec)
    {
        ArgumentException.ThrowIfNullOrEmpty(networkNamespace);
        return StartAsync([($"{community}.snmprec", snmprec)], [], community, networkNamespace);
    }

    /// <summary>
    /// The Cisco switch as an SNMPv3 agent with contexts. snmpsimd selects a data file by context name:
    /// <c>vlan-N</c> serves <c>cisco@N</c> (Cisco's per-VLAN BRIDGE-MIB), and the empty context falls back
    /// to the file named after the transport (<c>1.3.6.1.6.1.1.0/127.0.0.1</c>: UDP, first endpoint,
    /// this source address), which serves the main <c>cisco</c> data.
    /// </summary>
    public static Task<SnmpsimAgent> StartCiscoV3Async()
    {
        var data = Path.Combine(AppContext.BaseDirectory, "Data");
        var files = new List<(string, string)> { ("1.3.6.1.6.1.1.0/127.0.0.1.snmprec", File.ReadAllText(Path.Combine(data, "cisco.snmprec"))) };
        foreach (var file in Directory.GetFiles(data, "cisco@*.snmprec"))
        {
            files.Add(($"vlan-{Path.GetFileNameWithoutExtension(file).Split('@')[1]}.snmprec", File.ReadAllText(file)));
        }

        string[] v3 =
        [
            $"--v3-user={V3User}", $"--v3-auth-key={SnmpdAgent.AuthPass}", "--v3-auth-proto=SHA256",
            $"--v3-priv-key={SnmpdAgent.PrivPass}", "--v3-priv-proto=AES",
        ];
        return StartAsync(files, v3, "vlan-1", null);
    }

    private static async Task<SnmpsimAgent> StartAsync(IReadOnlyList<(string RelativePath, string Contents)> files, IReadOnlyList<string> extraArguments, string probeCommunity, string? networkNamespace)
    {
        var directory = Directory.CreateTempSubdirectory("segctl-snmpsim-").FullName;
        SnmpsimAgent? agent = null;
        try
        {
            var data = Path.Combine(directory, "data");
            var cache = Path.Combine(directory, "cache");
            Directory.CreateDirectory(data);
            Directory.CreateDirectory(cache);
            var directories = new HashSet<string> { directory, data, cache };
            foreach (var (relative, contents) in files)
            {
                var destination = Path.Combine(data, relative);
                var parent = Path.GetDirectoryName(destination)!;
                Directory.CreateDirectory(parent);
                directories.Add(parent);
                await File.WriteAllTextAsync(destination, contents);
            }

            // snmpsimd refuses to run as root; it drops to nobody, who must be able to read and write here.
            if (!OperatingSystem.IsWindows())
            {
                foreach (var path in directories)
                {
                    File.SetUnixFileMode(path, (UnixFileMode)0x1FF);
                }
            }

            var port = networkNamespace is null ? FreePort.Udp() : NamespacePort;
            var info = new ProcessStartInfo(networkNamespace is null ? "snmpsimd" : "ip")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (networkNamespace is not null)
            {
                foreach (var argument in new[] { "netns", "exec", networkNamespace, "snmpsimd" })
                {
                    info.ArgumentList.Add(argument);
                }
            }

            foreach (var argument in new[]
            {
                $"--data-dir={data}", $"--cache-dir={cache}", $"--agent-udpv4-endpoint=127.0.0.1:{port}",
                "--process-user=nobody", "--process-group=nogroup", "--logging-method=null",
            }.Concat(extraArguments))
            {
                info.ArgumentList.Add(argument);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start snmpsimd");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            agent = new SnmpsimAgent(process, directory, port, networkNamespace);
            await agent.WaitReadyAsync(probeCommunity);
            return agent;
        }
        catch
        {
            // An agent that never came up leaves neither its process nor its directory behind.
            if (agent is not null)
            {
                await agent.DisposeAsync();
            }
            else
            {
                Directory.Delete(directory, recursive: true);
            }

            throw;
        }
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

            string[] probe = ["snmpgetnext", "-v2c", "-c", community, "-t", "1", "-r", "0", Target, "1.3"];
            var (code, _, _) = _networkNamespace is null
                ? await ExternalProcess.RunAsync(probe[0], probe[1..])
                : await ExternalProcess.RunAsync("ip", ["netns", "exec", _networkNamespace, .. probe]);
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
