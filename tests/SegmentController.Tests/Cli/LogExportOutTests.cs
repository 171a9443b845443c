using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Policy;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl log export --out FILE</c> run as its own process, as a user runs it, at every kind of path.</summary>
public sealed class LogExportOutTests : IDisposable
{
    private const string StdoutHint = " (for standard output leave out --out, or give -)";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "segctl-export-out-" + Guid.NewGuid().ToString("N"));

    public LogExportOutTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Export_ToANewFile_OnlyItsOwnerMayReadIt()
    {
        var store = await StoreAsync();
        var export = Path.Combine(_dir, "alpha.jsonl");

        var (exit, _, error) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", export);

        Assert.True(exit == 0, error);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(export));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Export_PartialFileAKilledExportLeft_RemovedAndSaid_OtherFilesKept()
    {
        var store = await StoreAsync();
        var export = Path.Combine(_dir, "alpha.jsonl");
        // What an export killed (SIGKILL, a crash) before its rename leaves: the client's evidence, owner-only.
        var leftover = Path.Combine(_dir, $".alpha.jsonl.{Guid.NewGuid():N}.partial");
        await File.WriteAllTextAsync(leftover, "{\"index\":0}\n");
        File.SetUnixFileMode(leftover, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var other = Path.Combine(_dir, $".beta.jsonl.{Guid.NewGuid():N}.partial");
        await File.WriteAllTextAsync(other, "{}");

        var (exit, _, error) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", export);

        Assert.True(exit == 0, error);
        Assert.False(File.Exists(leftover), $"{leftover} is still there");
        Assert.True(File.Exists(other), $"{other} was removed");
        Assert.StartsWith($"segctl: removed {leftover}, a partial output file an interrupted write left behind{Environment.NewLine}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_OutIsADevice_Exit2_OneLine_DeviceLeftInPlace()
    {
        var store = await StoreAsync();
        // A null device of the test's own: the rename that replaced the file would replace /dev/null itself.
        var device = Path.Combine(_dir, "null");
        await RunToolAsync("mknod", "-m", "666", device, "c", "1", "3");

        var (exit, output, error) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", device);

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Equal($"segctl: --out {device} cannot be written: it is a character device, not a regular file{StdoutHint}{Environment.NewLine}", error);
        Assert.Equal("it is a character device, not a regular file", BoundedFile.NotRegularReason(device));
        Assert.Equal([device], Directory.GetFileSystemEntries(_dir).Where(e => !e.StartsWith(store, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Export_OutIsANamedPipe_Exit2AtOnce_OneLine_PipeLeftInPlace()
    {
        var store = await StoreAsync();
        var pipe = Path.Combine(_dir, "pipe");
        Assert.Equal(0, NativeMethods.MkFifo(pipe, Convert.ToUInt32("600", 8)));

        await using var segctl = SegctlProcess.Start("log", "export", "--store", store, "--out", pipe);
        var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: --out {pipe} cannot be written: it is a named pipe (FIFO), not a regular file{StdoutHint}{Environment.NewLine}", segctl.StandardError);
        Assert.Equal("it is a named pipe (FIFO), not a regular file", BoundedFile.NotRegularReason(pipe));
    }

    [Fact]
    public async Task Export_OutIsADirectory_Exit2_OneLineSayingSo()
    {
        var store = await StoreAsync();
        var directory = Directory.CreateDirectory(Path.Combine(_dir, "exports")).FullName;

        var (exit, _, error) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", directory);

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: --out {directory} cannot be written: it is a directory{StdoutHint}{Environment.NewLine}", error);
        Assert.Empty(Directory.GetFileSystemEntries(directory));
    }

    [Fact]
    public async Task Export_OutInADirectoryThatDoesNotExist_Exit2_NamesTheDirectory()
    {
        var store = await StoreAsync();
        var missing = Path.Combine(_dir, "no-such-dir");
        var file = Path.Combine(missing, "alpha.jsonl");

        var (exit, _, error) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", file);

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: --out {file} cannot be written: directory {missing} does not exist{Environment.NewLine}", error);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task Export_DiskFullWhileWriting_Exit2_OneLine_EarlierExportKept_NoPartialFileLeft()
    {
        var store = await StoreAsync(payloadBytes: 20_000);
        var full = Directory.CreateDirectory(Path.Combine(_dir, "full")).FullName;
        var export = Path.Combine(full, "alpha.jsonl");
        var listing = Path.Combine(_dir, "listing");

        // A file system of 8 KiB, in a mount namespace of segctl's own: the earlier export and a 20 KB record do not fit.
        var (exit, _, error) = await SegctlProcess.RunUnderAsync(
            ["unshare", "--mount", "--", "sh", "-c", """d=$0 f=$1 l=$2; shift 2; mount -t tmpfs -o size=8k tmpfs "$d" && printf earlier > "$f" && "$@"; rc=$?; ls -A "$d" > "$l"; cat "$f" >> "$l"; exit $rc""", full, export, listing],
            "log", "export", "--store", store, "--out", export);

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: --out {export} cannot be written: No space left on device; nothing written{Environment.NewLine}", error);
        Assert.Equal($"alpha.jsonl{Environment.NewLine}earlier", await File.ReadAllTextAsync(listing));
    }

    [Fact]
    public async Task Export_InterruptedByCtrlC_Exit2_OneLine_EarlierExportKept_NoPartialFileLeft()
    {
        var store = await StoreAsync();
        // Half a million copies of the record after it: an export that takes seconds, long enough to interrupt.
        using (var connection = new SqliteConnection($"Data Source={store};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 500009)
                INSERT INTO records SELECT n.i, r.time, r.type, r.clients, r.payload, r.payload_sha256, r.prev_hash, r.hash, r.entries, r.encoding
                FROM n, records r WHERE r.idx = 1;
                UPDATE head SET idx = 500009;
                """;
            command.ExecuteNonQuery();
        }

        var exports = Directory.CreateDirectory(Path.Combine(_dir, "exports")).FullName;
        var export = Path.Combine(exports, "all.jsonl");
        await File.WriteAllTextAsync(export, "earlier");

        // SIGINT as from a terminal's Ctrl-C, its default action restored whatever the test runner was started with.
        await using var segctl = SegctlProcess.StartUnder(["env", "--default-signal=INT"], "log", "export", "--store", store, "--out", export);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (!Directory.EnumerateFiles(exports, ".all.jsonl.*.partial").Any(f => new FileInfo(f).Length > 0))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no partial export written within a minute: {segctl.StandardError}");
            await Task.Delay(20);
        }

        Assert.Equal(0, NativeMethods.Kill(segctl.Id, NativeMethods.SigInt));
        var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: --out {export} cannot be written: interrupted; nothing written{Environment.NewLine}", segctl.StandardError);
        Assert.Equal([export], Directory.GetFiles(exports));
        Assert.Equal("earlier", await File.ReadAllTextAsync(export));
    }

    [Fact]
    public async Task Export_OutDash_WritesStandardOutput_NoFileNamedDash()
    {
        var store = await StoreAsync();
        var dash = Path.Combine(Environment.CurrentDirectory, "-");
        try
        {
            var (exit, output, error) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", "-");

            Assert.Equal(0, exit);
            Assert.StartsWith("""{"kind":"header","format":"segctl-evidence-export",""", output, StringComparison.Ordinal);
            Assert.Contains(" matching records (", error, StringComparison.Ordinal);
            Assert.False(File.Exists(dash));
        }
        finally
        {
            File.Delete(dash);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Export_OutIsASymbolicLink_TheFileItNamesIsReplaced_TheLinkKept()
    {
        var store = await StoreAsync();
        var exports = Directory.CreateDirectory(Path.Combine(_dir, "exports")).FullName;
        var real = Path.Combine(exports, "2026-11.jsonl");
        await File.WriteAllTextAsync(real, "earlier");
        File.SetUnixFileMode(real, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var link = Path.Combine(_dir, "latest.jsonl");
        File.CreateSymbolicLink(link, real);

        var (exit, _, _) = await SegctlProcess.RunAsync("log", "export", "--store", store, "--out", link);

        Assert.Equal(0, exit);
        Assert.Equal(real, new FileInfo(link).LinkTarget);
        Assert.StartsWith("""{"kind":"header",""", await File.ReadAllTextAsync(real), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(real));
        Assert.Equal(0, (await SegctlProcess.RunAsync("log", "verify", "--export", link)).ExitCode);
    }

    private async Task<string> StoreAsync(int payloadBytes = 0)
    {
        var store = Path.Combine(_dir, "e.db");
        var (exit, _, error) = await SegctlProcess.RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", $$"""{"pad":"{{new string('x', payloadBytes)}}"}""");
        Assert.True(exit == 0, error);
        return store;
    }

    private static async Task RunToolAsync(string tool, params string[] args)
    {
        using var process = Process.Start(tool, args);
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
    }
}
