using System.Diagnostics;

namespace SegmentController.Tests.Infrastructure;

/// <summary>Runs a real external program (promtool, openssl, …) to completion.</summary>
internal static class ExternalTool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>A TCP port on loopback that no other test takes (<see cref="global::SegmentController.Snmp.Tests.Infrastructure.FreePort"/>).</summary>
    public static int FreeLoopbackPort() => global::SegmentController.Snmp.Tests.Infrastructure.FreePort.Tcp();
}
