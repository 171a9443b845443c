using System.Runtime.InteropServices;

namespace SegmentController.Storage.Chain;

/// <summary>What syncing a directory (after a rename into it) needs, which the runtime does not offer.</summary>
internal static class NativeMethods
{
    public const int ORdOnly = 0;

    /// <summary>O_DIRECTORY on Linux.</summary>
    public const int ODirectory = 0x10000;

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Close(int fd);
}
