namespace SegmentController.Core;

/// <summary>
/// A new file that is its owner's alone: created exclusively (a file, link or anything else already at the name
/// makes the create fail, and a link there is never followed) with mode 0600 on Unix. For what holds a private key
/// or a client's evidence.
/// </summary>
public static class OwnerOnlyFile
{
    /// <summary>Creates <paramref name="path"/>, which must not exist, open for <paramref name="access"/> and not shared.</summary>
    /// <exception cref="IOException">Something is at <paramref name="path"/> already, or it cannot be made.</exception>
    /// <exception cref="UnauthorizedAccessException">No file may be made there.</exception>
    public static FileStream CreateNew(string path, FileAccess access, int bufferSize = 4096)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = access, Share = FileShare.None, BufferSize = bufferSize };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }
}
