using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Infrastructure;

/// <summary>
/// A real, tiny tmpfs mounted under a test's directory, for an evidence store that runs out of room (a full disk);
/// unmounted on dispose.
/// </summary>
internal sealed class FullDisk : IDisposable
{
    private FullDisk(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of 2 MiB at <c>small</c> under <paramref name="directory"/>.</summary>
    public static FullDisk Mount(string directory)
    {
        var mount = System.IO.Path.Combine(directory, "small");
        Directory.CreateDirectory(mount);
        Run("mount", $"-t tmpfs -o size=2m segctl-test {mount}");
        return new FullDisk(mount);
    }

    /// <summary>Appends records to <paramref name="store"/>, ever smaller, until it takes none: the disk is full.</summary>
    public static async Task FillAsync(SqliteEvidenceStore store)
    {
        foreach (var size in new[] { 60 * 1024, 8 * 1024, 1024, 128 })
        {
            try
            {
                while (true)
                {
                    await store.AppendAsync(RecordTypes.Access, "alpha", new byte[size], CancellationToken.None);
                }
            }
            catch (StoreUnavailableException)
            {
            }
        }
    }

    /// <summary>Gives the tmpfs more room (remounted larger), as an operator freeing space would.</summary>
    public void Grow(string size) => Run("mount", $"-o remount,size={size} {Path}");

    public void Dispose() => Run("umount", Path);

    private static void Run(string file, string arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments}: {process.StandardError.ReadToEnd()}");
        }
    }
}
