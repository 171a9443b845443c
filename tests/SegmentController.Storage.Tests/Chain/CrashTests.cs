using System.Diagnostics;
using System.Globalization;
using System.Text;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

/// <summary>A writer process killed with SIGKILL mid-batch loses nothing it acknowledged and leaves a chain that verifies.</summary>
public sealed class CrashTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task KilledWriter_EveryAcknowledgedRecordPresent_ChainVerifies()
    {
        var path = _dir.File("crash.db");
        var writer = Path.Combine(AppContext.BaseDirectory, "SegmentController.Storage.CrashWriter.dll");
        Assert.True(File.Exists(writer), writer);
        var acknowledged = new List<(long Index, long N)>();
        using (var process = Process.Start(new ProcessStartInfo("dotnet", $"\"{writer}\" \"{path}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!)
        {
            var errors = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            };
            process.BeginErrorReadLine();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (acknowledged.Count < 3000 && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    acknowledged.Add(Parse(line));
                }

                Assert.True(acknowledged.Count >= 3000, $"writer stopped early after {acknowledged.Count}: {errors}");
            }
            finally
            {
                // Process.Kill sends SIGKILL on Unix: no finalizers, no flush, batches cut wherever they are.
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            // Lines already in the pipe were acknowledged before the kill too.
            while (await process.StandardOutput.ReadLineAsync() is { } rest)
            {
                if (rest.StartsWith("ack ", StringComparison.Ordinal))
                {
                    acknowledged.Add(Parse(rest));
                }
            }
        }

        // Restart: the store opens (its head matches its last record) and the chain verifies.
        await using (var store = await Stores.OpenAsync(path))
        {
            Assert.True(store.Health.IsWritable);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.True(report.Count > acknowledged.Count);

        using var reader = StoreReader.Open(path);
        var payloads = reader.ReadRecords().Where(r => r.Type == "access").ToDictionary(r => r.Index, r => Encoding.UTF8.GetString(r.Payload!.Value.Span));
        foreach (var (index, n) in acknowledged)
        {
            Assert.True(payloads.TryGetValue(index, out var payload), $"acknowledged record {index} is missing");
            Assert.StartsWith(string.Create(CultureInfo.InvariantCulture, $$"""{"n":{{n}},"""), payload, StringComparison.Ordinal);
        }
    }

    private static (long, long) Parse(string line)
    {
        var parts = line.Split(' ');
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }
}
