using System.Security.Cryptography;
using SegmentController.Storage.Chain;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Chain;

/// <summary>
/// A crash between the creation of a signing key's partial file and its rename leaves a copy of a private key
/// beside the key file: the store removes it when it next loads or makes that key, says so, and touches
/// nothing else — no other key's partial file, no near name, and no link or directory of that name.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SigningKeyLeftoverTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<string> _notices = [];

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task NewStore_LeftoverPartialOfItsKey_RemovedAndSaid_UnrelatedFilesKept()
    {
        var store = _dir.File("e.db");
        var leftover = LeaveInterruptedWrite(store + ".key.pem");
        string[] unrelated =
        [
            _dir.File(".e.db.key.pem.partial"),
            _dir.File($".other.key.pem.{Guid.NewGuid():N}.partial"),
            _dir.File($".e.db.key.pem.{Guid.NewGuid().ToString("N").ToUpperInvariant()}.partial"),
            _dir.File($"e.db.key.pem.{Guid.NewGuid():N}.partial"),
            _dir.File($".e.db.key.pem.{Guid.NewGuid():N}.partial.bak"),
            _dir.File($".e.db.key.pem.x{Guid.NewGuid():N}.partial"),
        ];
        foreach (var file in unrelated)
        {
            await File.WriteAllTextAsync(file, "not the key writer's");
        }

        await using (await OpenAsync(store))
        {
        }

        Assert.False(File.Exists(leftover), $"{leftover} is still there");
        Assert.All(unrelated, file => Assert.True(File.Exists(file), $"{file} was removed"));
        Assert.Equal([$"removed {leftover}, a partial signing key file an interrupted write left behind"], _notices);
    }

    [Fact]
    public async Task ExistingStore_LeftoversOfItsKey_RemovedAtTheNextOpen()
    {
        var store = _dir.File("e.db");
        var key = _dir.File("site.key.pem");
        await using (await OpenAsync(store, key))
        {
        }

        var first = LeaveInterruptedWrite(key);
        var second = LeaveInterruptedWrite(key);

        await using (await OpenAsync(store, key))
        {
        }

        Assert.False(File.Exists(first) || File.Exists(second), "a partial key file is still there");
        Assert.Equal(2, _notices.Count);
        Assert.Equal(["site.key.pem"], Directory.GetFileSystemEntries(_dir.Path, "*.pem").Select(Path.GetFileName));
    }

    [Fact]
    public async Task RotateKey_LeftoverPartialOfTheNewKey_Removed()
    {
        var store = _dir.File("e.db");
        var next = _dir.File("next.key.pem");
        await using var opened = await OpenAsync(store);
        var leftover = LeaveInterruptedWrite(next);

        await opened.RotateKeyAsync(next, CancellationToken.None);

        Assert.False(File.Exists(leftover), $"{leftover} is still there");
        Assert.Equal([$"removed {leftover}, a partial signing key file an interrupted write left behind"], _notices);
    }

    [Fact]
    public async Task LinkOrDirectoryNamedAsAPartialKey_LeftAsItIs_NeverFollowed_AndSaid()
    {
        var store = _dir.File("e.db");
        var elsewhere = _dir.File("elsewhere.txt");
        await File.WriteAllTextAsync(elsewhere, "someone else's file");
        var link = _dir.File($".e.db.key.pem.{Guid.NewGuid():N}.partial");
        File.CreateSymbolicLink(link, elsewhere);
        var directory = _dir.File($".e.db.key.pem.{Guid.NewGuid():N}.partial");
        Directory.CreateDirectory(directory);

        await using (await OpenAsync(store))
        {
        }

        Assert.Equal("someone else's file", await File.ReadAllTextAsync(elsewhere));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.True(Directory.Exists(directory));
        Assert.Equal(
            new[]
            {
                $"{link} is named as a partial signing key file an interrupted write leaves, but it is a symbolic link, not a regular file: left as it is",
                $"{directory} is named as a partial signing key file an interrupted write leaves, but it is a directory: left as it is",
            }.Order(StringComparer.Ordinal),
            _notices.Order(StringComparer.Ordinal));
    }

    private Task<SqliteEvidenceStore> OpenAsync(string store, string? key = null) =>
        SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = store, SigningKeyFile = key, CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.Zero, Notice = _notices.Add },
            new FakeTimeProvider(Stores.Start),
            CancellationToken.None);

    /// <summary>What the key's writer leaves when the process dies after its partial file is written, before the rename.</summary>
    private static string LeaveInterruptedWrite(string keyFile)
    {
        var partial = Path.Combine(Path.GetDirectoryName(keyFile)!, $".{Path.GetFileName(keyFile)}.{Guid.NewGuid():N}.partial");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using (var stream = new FileStream(partial, options))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        }

        return partial;
    }
}
