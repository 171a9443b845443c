using SegmentController.Core;

namespace SegmentController.Core.Tests;

/// <summary>
/// Leftover partial files of a target are removed; one a write still has open (another process exporting to the
/// same file now) is not a leftover and is left alone.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PartialFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-partial-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RemoveLeftovers_PartialAWriteHoldsOpen_Kept_OneNoWriteHolds_Removed()
    {
        var target = Path.Combine(_dir, "alpha.jsonl");
        var held = PartialFiles.NewNameFor(target);
        var left = PartialFiles.NewNameFor(target);
        File.WriteAllText(left, "{\"n\":1}");
        // As the writer holds its partial file until it is synced and about to be renamed.
        using var writing = new FileStream(held, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None });

        var lines = PartialFiles.RemoveLeftovers(target, "output");

        Assert.True(File.Exists(held), "the partial file a write holds open was removed");
        Assert.False(File.Exists(left), $"{left} is still there");
        Assert.Equal([$"removed {left}, a partial output file an interrupted write left behind"], lines);
    }
}
