using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary>Commands that write a store or create a key file, given a path that is no file to write, run as their own process.</summary>
public sealed class StoreFileArgumentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "segctl-store-args-" + Guid.NewGuid().ToString("N"));

    public StoreFileArgumentTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("fifo", "it is a named pipe (FIFO), not a regular file")]
    [InlineData("directory", "it is a directory")]
    public async Task Append_StoreThatIsNoFile_Exit2_OneLineSayingWhatItIs_NoLockFileMade(string kind, string reason)
    {
        var path = Path.Combine(_dir, "store");
        if (kind == "fifo")
        {
            Assert.Equal(0, NativeMethods.MkFifo(path, Convert.ToUInt32("600", 8)));
        }
        else
        {
            Directory.CreateDirectory(path);
        }

        await using var segctl = SegctlProcess.Start("log", "append", "--store", path, "--payload", "{}");
        var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: store {path} cannot be opened: {reason}{Environment.NewLine}", segctl.StandardError);
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public async Task RotateKey_NewKeyIsADirectory_Exit2_SaysSo()
    {
        var store = await StoreAsync();
        var directory = Directory.CreateDirectory(Path.Combine(_dir, "keys")).FullName;

        var (exit, _, error) = await SegctlProcess.RunAsync("log", "rotate-key", "--store", store, "--new-key", directory);

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: signing key {directory} cannot be read: it is a directory{Environment.NewLine}", error);
    }

    [Fact]
    public async Task RotateKey_NewKeyInADirectoryThatDoesNotExist_Exit2_NamesTheDirectory()
    {
        var store = await StoreAsync();
        var missing = Path.Combine(_dir, "no-such-dir");
        var key = Path.Combine(missing, "next.pem");

        var (exit, _, error) = await SegctlProcess.RunAsync("log", "rotate-key", "--store", store, "--new-key", key);

        Assert.Equal(2, exit);
        Assert.Equal($"segctl: signing key {key} cannot be created: directory {missing} does not exist{Environment.NewLine}", error);
        Assert.Equal(0, (await SegctlProcess.RunAsync("log", "verify", "--store", store)).ExitCode);
    }

    private async Task<string> StoreAsync()
    {
        var store = Path.Combine(_dir, "e.db");
        var (exit, _, error) = await SegctlProcess.RunAsync("log", "append", "--store", store, "--payload", "{}");
        Assert.True(exit == 0, error);
        return store;
    }
}
