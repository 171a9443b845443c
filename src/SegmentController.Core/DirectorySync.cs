using System.Runtime.InteropServices;
using SegmentController.Core.Suspension;

namespace SegmentController.Core;

/// <summary>Makes a change to a directory's entries (a file renamed or moved into it) durable.</summary>
public static class DirectorySync
{
    /// <summary>
    /// Syncs <paramref name="directory"/> itself: a rename is only durable once the directory entry is. The
    /// runtime cannot open a directory, so libc does. Nothing on systems other than Linux and macOS.
    /// </summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void Sync(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = NativeMethods.Open(directory, NativeMethods.ORdOnly | NativeMethods.ODirectory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"cannot sync directory {directory} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }
}
