using System.Globalization;
using Microsoft.Data.Sqlite;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl log export</c> to standard output (no <c>--out</c>, or <c>--out -</c>) run as its own process, its output redirected as a user redirects it.</summary>
public sealed class LogExportStandardOutputTests : IDisposable
{
    private const string Incomplete = "the export written to standard output is incomplete";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "segctl-export-stdout-" + Guid.NewGuid().ToString("N"));

    public LogExportStandardOutputTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Export_LargerThanItsHeapCouldHoldTwice_StreamsToStandardOutput_Whole(bool dash)
    {
        // About 48 MB of export under a 64 MiB heap: held whole (and again as text) it cannot fit.
        var store = await StoreAsync(payloadBytes: 24_000, copies: 2_000);
        var export = Path.Combine(_dir, "all.jsonl");
        string[] args = dash ? ["log", "export", "--store", store, "--out", "-"] : ["log", "export", "--store", store];

        var (exit, _, error) = await SegctlProcess.RunUnderAsync(
            ["env", "DOTNET_GCHeapHardLimit=0x4000000", "sh", "-c", """out=$0; "$@" > "$out" """, export],
            args);

        Assert.True(exit == 0, error);
        Assert.Equal($"exported 2003 matching records (2003 in full, 0 as chain links){Environment.NewLine}", error);
        Assert.True(new FileInfo(export).Length > 48_000_000, $"{new FileInfo(export).Length} bytes exported");
        var lines = File.ReadLines(export).ToList();
        Assert.Equal(2005, lines.Count);
        Assert.StartsWith("""{"kind":"header","format":"segctl-evidence-export",""", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("""{"kind":"head",""", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_StandardOutputOnAFullDisk_Exit2_OneLineSayingTheOutputIsIncomplete()
    {
        var store = await StoreAsync(payloadBytes: 1_000, copies: 0);

        // /dev/full: every write fails as on a full disk.
        var (exit, _, error) = await SegctlProcess.RunUnderAsync(["sh", "-c", """ "$@" > /dev/full """, "sh"], "log", "export", "--store", store);

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: standard output cannot be written: No space left on device; {Incomplete}{Environment.NewLine}", error);
    }

    [Fact]
    public async Task Export_ToAPipeWhoseReaderStopsEarly_Exit2_OneLineSayingTheOutputIsIncomplete()
    {
        // About 200 KB of export, more than a pipe holds: the writes after head has gone fail.
        var store = await StoreAsync(payloadBytes: 1_000, copies: 200);

        var (exit, _, error) = await SegctlProcess.RunUnderAsync(["bash", "-c", """set -o pipefail; "$@" | head -c 100 > /dev/null""", "bash"], "log", "export", "--store", store);

        Assert.True(exit == 2, $"exit {exit}: {error}");
        Assert.Equal($"segctl: standard output cannot be written: its reader has closed it (broken pipe); {Incomplete}{Environment.NewLine}", error);
    }

    [Fact]
    public async Task Export_InAGroupRedirectedToOneFile_WhatFollowsItComesAfterIt()
    {
        var store = await StoreAsync(payloadBytes: 1_000, copies: 100);
        var file = Path.Combine(_dir, "group.out");

        var (exit, _, error) = await SegctlProcess.RunUnderAsync(["bash", "-c", """out=$0; { echo before; "$@"; echo after; } > "$out" """, file], "log", "export", "--store", store);

        Assert.True(exit == 0, error);
        var lines = File.ReadAllLines(file);
        Assert.Equal("before", lines[0]);
        Assert.StartsWith("""{"kind":"header",""", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("""{"kind":"head",""", lines[^2], StringComparison.Ordinal);
        Assert.Equal("after", lines[^1]);
    }

    [Fact]
    public async Task VerifyExport_AnExportCutShort_Exit1_NamesWhatIsMissing()
    {
        var store = await StoreAsync(payloadBytes: 100, copies: 0);
        for (var i = 0; i < 3; i++)
        {
            var (appended, _, appendError) = await SegctlProcess.RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", $$"""{"n":{{i}}}""");
            Assert.True(appended == 0, appendError);
        }

        var (exit, whole, error) = await SegctlProcess.RunAsync("log", "export", "--store", store);
        Assert.True(exit == 0, error);
        var full = Path.Combine(_dir, "whole.jsonl");
        await File.WriteAllTextAsync(full, whole);
        Assert.Equal(0, (await SegctlProcess.RunAsync("log", "verify", "--export", full)).ExitCode);

        // Cut where a failed write may leave it: after a whole line (no head line), and within a line.
        var lines = whole.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var withoutHead = string.Concat(lines[..^1].Select(l => l + "\n"));
        var cuts = new[] { withoutHead, withoutHead[..^40], string.Concat(lines[..3].Select(l => l + "\n")) };
        for (var i = 0; i < cuts.Length; i++)
        {
            var cut = Path.Combine(_dir, string.Create(CultureInfo.InvariantCulture, $"cut-{i}.jsonl"));
            await File.WriteAllTextAsync(cut, cuts[i]);

            var (verified, report, _) = await SegctlProcess.RunAsync("log", "verify", "--export", cut);

            Assert.True(verified == 1, $"cut {i}: exit {verified}: {report}");
            Assert.Contains($"export {cut}: TAMPERED: ", report, StringComparison.Ordinal);
        }
    }

    /// <summary>A store of one record with a payload of <paramref name="payloadBytes"/>, copied <paramref name="copies"/> times after it.</summary>
    private async Task<string> StoreAsync(int payloadBytes, int copies)
    {
        var store = Path.Combine(_dir, "e.db");
        var (exit, _, error) = await SegctlProcess.RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", $$"""{"pad":"{{new string('x', payloadBytes)}}"}""");
        Assert.True(exit == 0, error);
        if (copies > 0)
        {
            using var connection = new SqliteConnection($"Data Source={store};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"""
                WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < {9 + copies})
                INSERT INTO records SELECT n.i, r.time, r.type, r.clients, r.payload, r.payload_sha256, r.prev_hash, r.hash, r.entries, r.encoding
                FROM n, records r WHERE r.idx = 1;
                UPDATE head SET idx = {9 + copies};
                """);
            command.ExecuteNonQuery();
        }

        return store;
    }
}
