using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>The openssl command line tool (Debian <c>openssl</c>), as an independent TLS peer.</summary>
internal static class OpenSsl
{
    /// <summary>Runs <c>openssl s_client</c> with these arguments and returns everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> ClientAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add("s_client");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// Starts <c>openssl s_server</c>, limited to one protocol version when given one (e.g. <c>-tls1_1</c>,
    /// with the security level lowered so it really offers it).
    /// </summary>
    public static async Task<(Process Process, int Port)> StartTlsServerAsync(string certPath, string keyPath, string? onlyVersion = null)
    {
        var port = FreePort.Tcp();
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        string[] version = onlyVersion is null ? [] : [onlyVersion, "-cipher", "DEFAULT@SECLEVEL=0"];
        foreach (var argument in (string[])["s_server", "-accept", $"127.0.0.1:{port}", .. version, "-cert", certPath, "-key", keyPath, "-www"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return (process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        process.Kill();
        process.Dispose();
        throw new InvalidOperationException("openssl s_server did not start");
    }
}
