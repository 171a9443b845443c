using System.Runtime.InteropServices;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// Makes SQLite's own opens refuse what is not a file. SQLite opens a store (and its <c>-wal</c>, <c>-shm</c> and
/// journal) by path with a plain <c>open(2)</c>: a named pipe put in a store's place after it was checked would
/// hold that open until some writer came, forever. The unix VFS lets its system calls be replaced
/// (<c>xSetSystemCall</c>): its <c>open</c> becomes one that opens without blocking and looks at what it opened
/// by the handle, so a named pipe, socket or device (other than <c>/dev/urandom</c>, SQLite's randomness) is
/// closed again and the open fails with ENXIO, which SQLite reports as a file it cannot open. Files and
/// directories open as before, <c>O_NONBLOCK</c> taken off again unless SQLite asked for it; the WAL files beside
/// the store's real path are found as before.
/// </summary>
/// <remarks>
/// Installed once, before the first connection (<see cref="Install"/>); SQLite's system-call table is shared by
/// every connection of the process. Where the library or its VFS cannot be found (not Linux, another SQLite),
/// nothing is replaced and <see cref="IsInstalled"/> is false: the path is still checked before SQLite opens it.
/// </remarks>
internal static unsafe class SqliteFileGuard
{
    private static readonly Lock Gate = new();
    private static bool _attempted;

    /// <summary>True once SQLite's <c>open</c> is the guarded one.</summary>
    public static bool IsInstalled { get; private set; }

    /// <summary>Replaces SQLite's <c>open</c> (once; later calls return at once).</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (_attempted)
            {
                return;
            }

            _attempted = true;
            if (!OperatingSystem.IsLinux() || IntPtr.Size != 8
                || !NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteFileGuard).Assembly, null, out var library)
                || !NativeLibrary.TryGetExport(library, "sqlite3_vfs_find", out var find))
            {
                return;
            }

            var vfs = ((delegate* unmanaged<byte*, Vfs*>)find)(null);
            if (vfs is null || vfs->Version < 3 || vfs->SetSystemCall == IntPtr.Zero
                || Marshal.PtrToStringUTF8(vfs->Name) is not { } name || !name.StartsWith("unix", StringComparison.Ordinal))
            {
                return;
            }

            var setSystemCall = (delegate* unmanaged<Vfs*, byte*, IntPtr, int>)vfs->SetSystemCall;
            delegate* unmanaged<byte*, int, int, int> guarded = &Open;
            fixed (byte* open = "open"u8)
            {
                IsInstalled = setSystemCall(vfs, open, (IntPtr)guarded) == 0;
            }
        }
    }

    [UnmanagedCallersOnly]
    private static int Open(byte* path, int flags, int mode)
    {
        var fd = Native.Open(path, flags | Native.ONonBlock, mode);
        if (fd < 0)
        {
            Marshal.SetLastSystemError(Marshal.GetLastPInvokeError());
            return fd;
        }

        byte* status = stackalloc byte[Native.StatxBytes];
        byte empty = 0;
        var type = Native.Statx(fd, &empty, Native.AtEmptyPath, Native.StatxType, status) == 0
            ? *(ushort*)(status + Native.StatxModeOffset) & Native.SIfMt
            : -1;
        var file = type is Native.SIfReg or Native.SIfDir || (type == Native.SIfChr && IsUrandom(path));
        if (!file)
        {
            _ = Native.Close(fd);
            Marshal.SetLastSystemError(Native.ENxIo);
            return -1;
        }

        if ((flags & Native.ONonBlock) == 0)
        {
            var current = Native.Fcntl(fd, Native.FGetFl, 0);
            if (current >= 0)
            {
                _ = Native.Fcntl(fd, Native.FSetFl, current & ~Native.ONonBlock);
            }
        }

        return fd;
    }

    private static bool IsUrandom(byte* path) =>
        MemoryMarshal.CreateReadOnlySpanFromNullTerminated(path).SequenceEqual("/dev/urandom"u8);

    /// <summary>The head of <c>struct sqlite3_vfs</c> (version 3) up to <c>xSetSystemCall</c>, 64-bit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Vfs
    {
        public int Version;
        public int OsFileSize;
        public int MaxPathname;
        public IntPtr Next;
        public IntPtr Name;
        public IntPtr AppData;
        public IntPtr Open;
        public IntPtr Delete;
        public IntPtr Access;
        public IntPtr FullPathname;
        public IntPtr DlOpen;
        public IntPtr DlError;
        public IntPtr DlSym;
        public IntPtr DlClose;
        public IntPtr Randomness;
        public IntPtr Sleep;
        public IntPtr CurrentTime;
        public IntPtr GetLastError;
        public IntPtr CurrentTimeInt64;
        public IntPtr SetSystemCall;
    }

    /// <summary>The Linux calls and constants the guard needs (the same values on x86-64 and arm64).</summary>
    private static class Native
    {
        public const int ONonBlock = 0x800;
        public const int FGetFl = 3;
        public const int FSetFl = 4;
        public const int AtEmptyPath = 0x1000;
        public const uint StatxType = 0x1;
        public const int StatxBytes = 256;
        public const int StatxModeOffset = 28;
        public const int SIfMt = 0xF000;
        public const int SIfReg = 0x8000;
        public const int SIfDir = 0x4000;
        public const int SIfChr = 0x2000;
        public const int ENxIo = 6;

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open(byte* path, int flags, int mode);

        [DllImport("libc", EntryPoint = "statx")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);

        [DllImport("libc", EntryPoint = "fcntl")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Fcntl(int fd, int command, int argument);

        [DllImport("libc", EntryPoint = "close")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
