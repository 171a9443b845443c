namespace SegmentController.Api;

/// <summary>
/// Where an API export is written before it is streamed: a file that has no name from the moment it exists.
/// It is created exclusively, readable by the controller's user alone, and unlinked at once; the open stream keeps
/// it until the response ends. An export holds personal data and access records, so a controller that is killed
/// or crashes mid-export leaves nothing behind in the temporary directory (a file deleted on close would stay
/// there, named, until someone removed it).
/// </summary>
internal static class ExportSpool
{
    private const int BufferSize = 81920;

    public static FileStream Create(string directory)
    {
        var path = Path.Combine(directory, $"segctl-export-{Guid.NewGuid():N}.jsonl");
        var stream = Core.OwnerOnlyFile.CreateNew(path, FileAccess.ReadWrite, BufferSize);
        try
        {
            File.Delete(path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        return stream;
    }
}
