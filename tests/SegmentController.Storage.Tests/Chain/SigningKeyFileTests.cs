using System.Diagnostics;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

/// <summary>
/// A signing key made on a real, tiny tmpfs that is full (a full disk): the key file appears whole or not at
/// all, and once there is room the key is made as if nothing had happened.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SigningKeyFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _mount;
    private readonly string _filler;

    public SigningKeyFileTests()
    {
        _mount = _dir.File("keys");
        Directory.CreateDirectory(_mount);
        Run("mount", $"-t tmpfs -o size=4k segctl-test {_mount}");
        // The file system's one page taken: a key file can still be named there, but not written.
        _filler = Path.Combine(_mount, "filler");
        File.WriteAllBytes(_filler, new byte[4096]);
    }

    public void Dispose()
    {
        Run("umount", _mount);
        _dir.Dispose();
    }

    [Fact]
    public async Task RotateKey_NewKeyOnAFullDisk_RefusedSayingSo_NoKeyFileLeft_RotatesOnceThereIsRoom()
    {
        var newKey = Path.Combine(_mount, "next.key.pem");
        await using var store = await Stores.OpenAsync(_dir.File("e.db"));
        var first = store.KeyId;

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => store.RotateKeyAsync(newKey, CancellationToken.None));

        Assert.Equal(["filler"], Directory.GetFileSystemEntries(_mount).Select(Path.GetFileName));
        Assert.Equal($"signing key {newKey} cannot be created: No space left on device", e.Message);
        Assert.Equal(first, store.KeyId);

        File.Delete(_filler);
        await store.RotateKeyAsync(newKey, CancellationToken.None);

        Assert.NotEqual(first, store.KeyId);
        Assert.Equal(["next.key.pem"], Directory.GetFileSystemEntries(_mount).Select(Path.GetFileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(newKey));
        using var written = SigningKey.Load(newKey);
        Assert.Equal(store.KeyId, written.Id);
    }

    [Fact]
    public async Task NewStore_ItsKeyOnAFullDisk_RefusedSayingSo_NoKeyFileLeft_OpensOnceThereIsRoom()
    {
        var key = Path.Combine(_mount, "store.key.pem");
        var options = new StoreOptions { Path = _dir.File("e.db"), SigningKeyFile = key, CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.Zero };

        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => SqliteEvidenceStore.OpenAsync(options, new FakeTimeProvider(Stores.Start), CancellationToken.None));

        Assert.Equal(["filler"], Directory.GetFileSystemEntries(_mount).Select(Path.GetFileName));
        Assert.Equal($"store {options.Path} cannot be opened: signing key {key} cannot be created: No space left on device", e.Message);

        File.Delete(_filler);
        await using var store = await SqliteEvidenceStore.OpenAsync(options, new FakeTimeProvider(Stores.Start), CancellationToken.None);

        using var written = SigningKey.Load(key);
        Assert.Equal(store.KeyId, written.Id);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments}: {process.StandardError.ReadToEnd()}");
        }
    }
}
