using System.Diagnostics;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// A real net-snmp agent on a loopback port (or inside a network namespace), with a v2c community
/// pair and SNMPv3 users for every authentication protocol, configured in a temporary directory.
/// </summary>
internal sealed class SnmpdAgent : IAsyncDisposable
{
    public const string ReadCommunity = "public";
    public const string WriteCommunity = "private";
    public const string AuthPass = "authpass-0123";
    public const string PrivPass = "privpass-4567";

    private readonly string _directory;
    private readonly string? _networkNamespace;
    private readonly string? _proxy;
    private Process _process;

    private SnmpdAgent(Process process, string directory, string address, int port, string? networkNamespace, string? proxy)
    {
        _process = process;
        _directory = directory;
        _networkNamespace = networkNamespace;
        _proxy = proxy;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public int Port { get; }

    public string Target => Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]:{Port}" : $"{Address}:{Port}";

    /// <summary>
    /// Users: sha1/sha224/sha256/sha384/sha512 (authPriv with AES), sha256np (authNoPriv), md5des (legacy).
    /// <paramref name="engineId"/> is the text snmpd builds its engine id from (its <c>engineID</c> token).
    /// <paramref name="proxy"/>, an snmpd <c>proxy</c> line's arguments (<c>-v 2c -c C HOST:PORT OID</c>), has
    /// another agent answer a subtree, to every user and community, as one agent with snmpd's own MIBs.
    /// </summary>
    public static async Task<SnmpdAgent> StartAsync(string address = "127.0.0.1", string? networkNamespace = null, string? engineId = null, string? proxy = null)
    {
        var directory = Directory.CreateTempSubdirectory("segctl-snmpd-").FullName;
        SnmpdAgent? agent = null;
        try
        {
            var port = networkNamespace is null ? FreePort.Udp() : 161;
            var process = await LaunchAsync(directory, address, port, networkNamespace, engineId, proxy);
            agent = new SnmpdAgent(process, directory, address, port, networkNamespace, proxy);
            await agent.WaitReadyAsync();
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

    /// <summary>
    /// Stops snmpd and starts it again on the same address and port with a fresh persistent store, so it
    /// comes back with engine boots 1 and, given another <paramref name="engineId"/>, a different engine id.
    /// </summary>
    public async Task RestartAsync(string? engineId)
    {
        await StopAsync();
        _process.Dispose();
        Directory.Delete(Path.Combine(_directory, "persist"), recursive: true);
        _process = await LaunchAsync(_directory, Address, Port, _networkNamespace, engineId, _proxy);
        await WaitReadyAsync();
    }

    private static async Task<Process> LaunchAsync(string directory, string address, int port, string? networkNamespace, string? engineId, string? proxy)
    {
        var config = Path.Combine(directory, "snmpd.conf");
        await File.WriteAllTextAsync(config, $"""
            {(engineId is null ? "" : $"engineID {engineId}")}
            rocommunity {ReadCommunity} default
            rwcommunity {WriteCommunity} default
            rocommunity6 {ReadCommunity} default
            rwcommunity6 {WriteCommunity} default
            createUser sha1 SHA "{AuthPass}" AES "{PrivPass}"
            createUser sha224 SHA-224 "{AuthPass}" AES "{PrivPass}"
            createUser sha256 SHA-256 "{AuthPass}" AES "{PrivPass}"
            createUser sha384 SHA-384 "{AuthPass}" AES "{PrivPass}"
            createUser sha512 SHA-512 "{AuthPass}" AES "{PrivPass}"
            createUser sha256np SHA-256 "{AuthPass}"
            createUser md5des MD5 "{AuthPass}" DES "{PrivPass}"
            rwuser sha1 priv
            rwuser sha224 priv
            rwuser sha256 priv
            rwuser sha384 priv
            rwuser sha512 priv
            rwuser md5des priv
            rouser sha256np auth
            {(proxy is null ? "" : $"proxy {proxy}")}
            """);
        var endpoint = address.Contains(':', StringComparison.Ordinal) ? $"udp6:[{address}]:{port}" : $"udp:{address}:{port}";
        var arguments = new List<string>();
        var file = "snmpd";
        if (networkNamespace is not null)
        {
            file = "ip";
            arguments.AddRange(["netns", "exec", networkNamespace, "snmpd"]);
        }

        arguments.AddRange(["-f", "-Lo", "-C", "-c", config, "-p", Path.Combine(directory, "snmpd.pid"), endpoint]);
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["MIBS"] = "";
        info.Environment["SNMP_PERSISTENT_DIR"] = Path.Combine(directory, "persist");
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start snmpd");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"snmpd exited with {_process.ExitCode}");
            }

            string[] probe = ["snmpget", "-v2c", "-c", ReadCommunity, "-t", "0.5", "-r", "0", Target, "1.3.6.1.2.1.1.1.0"];
            var (code, _, _) = _networkNamespace is null
                ? await ExternalProcess.RunAsync(probe[0], probe[1..])
                : await ExternalProcess.RunAsync("ip", ["netns", "exec", _networkNamespace, .. probe]);
            if (code == 0)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("snmpd did not start answering");
    }

    /// <summary>
    /// Freezes the agent (SIGSTOP): its socket stays bound, so requests go unanswered until they time out,
    /// without the ICMP port-unreachable a stopped agent draws. <see cref="ResumeAsync"/> thaws it.
    /// </summary>
    public Task PauseAsync() => ExternalProcess.CheckedAsync("kill", "-STOP", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// Thaws an agent <see cref="PauseAsync"/> froze (SIGCONT) and returns once it answers again: a thawed
    /// snmpd first works through the requests queued while it was frozen, and a request the test sends
    /// right away (with the short timeouts these tests use for a frozen switch) could time out behind them.
    /// </summary>
    public async Task ResumeAsync()
    {
        await ExternalProcess.CheckedAsync("kill", "-CONT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitReadyAsync();
    }

    /// <summary>Stops the agent (a switch that stops answering); disposing afterwards is still fine.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
