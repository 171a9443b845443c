using System.Runtime.InteropServices;

namespace SegmentController.Storage.Sqlite;

/// <summary>The libc calls behind <see cref="StoreLock"/> (Linux values).</summary>
internal static class LockNative
{
    public const int ORdOnly = 0;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    public const int OCloexec = 0x80000;
    public const int LockEx = 2;
    public const int LockNb = 4;
    public const int LockUn = 8;
    public const int EWouldBlock = 11;

    /// <summary>rw for the owner only (0600).</summary>
    public const int OwnerReadWrite = 0x180;

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "strerror")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr StrError(int errno);

    public static string Describe(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";
}
