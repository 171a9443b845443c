using System.Diagnostics;

namespace SegmentController.Capture.Tests.Support;

/// <summary>Runs system tools (ip, tc, tcpreplay) for the live tests.</summary>
internal static class Shell
{
    public static string Run(string program, params string[] args)
    {
        var (exit, output) = TryRun(program, args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {exit}: {output}");
        }

        return output;
    }

    public static (int ExitCode, string Output) TryRun(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within 60 s");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }
}
