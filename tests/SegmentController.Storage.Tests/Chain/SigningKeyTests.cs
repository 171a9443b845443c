using SegmentController.Storage.Chain;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

public sealed class SigningKeyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Load_KeyFileIsNamedPipe_RefusedSayingSo_WithoutWaitingForAWriter()
    {
        var path = _dir.File("store-signing.pem");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // The store opens at start: a key read that waits for the pipe's writer fails here instead of hanging.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(() => SigningKey.Load(path)).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal($"signing key {path} cannot be read: it is a named pipe (FIFO), not a regular file", e.Message);
    }

    [Fact]
    public async Task Load_KeyFileLargerThanTheCap_RefusedUnreadPastIt()
    {
        var path = _dir.File("store-signing.pem");
        using (var file = File.Create(path))
        {
            file.SetLength(2 * 1024 * 1024);
        }

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(() => SigningKey.Load(path)).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal($"signing key {path} cannot be read: the key file is larger than 1 MiB", e.Message);
    }
}
