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

    private readonly Process _process;
    private readonly string _directory;

    private SnmpdAgent(Process process, string directory, string address, int port)
    {
        _process = process;
        _directory = directory;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public int Port { get; }

    public string Target => Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]:{Port}" : $"{Address}:{Port}";

    /// <summary>Users: sha1/sha224/sha256/sha384/sha512 (authPriv with AES), sha256np (authNoPriv), md5des (legacy).</summary>
    public static async Task<SnmpdAgent> StartAsync(string address = "127.0.0.1", string? networkNamespace = null)
    {
        var directory = Directory.CreateTempSubdirectory("segctl-snmpd-").FullName;
        var port = networkNamespace is null ? FreePort.Udp() : 161;
        var config = Path.Combine(directory, "snmpd.conf");
        await File.WriteAllTextAsync(config, $"""
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
        var agent = new SnmpdAgent(process, directory, address, port);
        await agent.WaitReadyAsync(networkNamespace);
        return agent;
    }

    private async Task WaitReadyAsync(string? networkNamespace)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"snmpd exited with {_process.ExitCode}");
            }

            string[] probe = ["snmpget", "-v2c", "-c", ReadCommunity, "-t", "0.5", "-r", "0", Target, "1.3.6.1.2.1.1.1.0"];
            var (code, _, _) = networkNamespace is null
                ? await ExternalProcess.RunAsync(probe[0], probe[1..])
                : await ExternalProcess.RunAsync("ip", ["netns", "exec", networkNamespace, .. probe]);
            if (code == 0)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("snmpd did not start answering");
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
