using System.Diagnostics;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>Runs a program to completion and captures its output.</summary>
internal static class ExternalProcess
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> arguments, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
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

        // net-snmp tools print raw values when no MIB is loaded; that is the form we compare against.
        info.Environment["MIBS"] = "";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    public static async Task<string> CheckedAsync(string file, params string[] arguments)
    {
        var (code, stdout, stderr) = await RunAsync(file, arguments);
        return code == 0 ? stdout : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {code}: {stderr}{stdout}");
    }
}
