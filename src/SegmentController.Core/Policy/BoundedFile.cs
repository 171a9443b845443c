using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SegmentController.Core.Policy;

/// <summary>
/// Reads the small files configuration names (the policy itself, certificates, keys, CA bundles, secrets, the
/// controller's signing key and API keys file) safely: only a regular file (or a symbolic link to one) is read,
/// and never more than a cap. A named pipe would block the reader until some writer came, a device such as
/// <c>/dev/zero</c> or <c>/dev/tty</c> never ends or waits for a person, a socket is no file at all: each is an
/// error that says what the path names, at once.
/// </summary>
/// <remarks>
/// On Linux the path is opened without blocking (<c>O_NONBLOCK</c>, so a named pipe without a writer opens at
/// once; <c>O_NOCTTY</c>, so a terminal never becomes the controller's) and the type is taken from the opened
/// handle, not from the path beforehand: a file swapped for a pipe between a check and the read cannot slip
/// through. Elsewhere (not a system segctl runs on) the runtime's own open is used.
/// </remarks>
public static class BoundedFile
{
    /// <summary>The file's bytes, or null when it holds more than <paramref name="maxBytes"/> (read one byte past the cap, no further).</summary>
    /// <exception cref="IOException">The file cannot be read, or the path names something that is not a regular file.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission denied.</exception>
    public static byte[]? Read(string path, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        using var stream = OpenRegular(path);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
        {
            total += read;
        }

        return total > maxBytes ? null : buffer.AsSpan(0, total).ToArray();
    }

    /// <summary>Opens a regular file for reading, refusing anything else without waiting on it.</summary>
    /// <exception cref="IOException">The file cannot be opened, or the path names something that is not a regular file.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission denied.</exception>
    public static FileStream OpenRegular(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux())
        {
            // segctl runs on Linux; elsewhere (a developer's machine) the runtime's open is used as it is.
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        }

        var fd = Native.Open(path, Native.ORdOnly | Native.ONonBlock | Native.ONoCtty | Native.OCloExec);
        if (fd < 0)
        {
            throw OpenError(path, Marshal.GetLastPInvokeError());
        }

        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        try
        {
            var status = new byte[Native.StatxBytes];
            if (Native.Statx(fd, "", Native.AtEmptyPath, Native.StatxType, status) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"its type cannot be read: {Marshal.GetPInvokeErrorMessage(errno)}");
            }

            var type = BitConverter.ToUInt16(status, Native.StatxModeOffset) & Native.SIfMt;
            if (type != Native.SIfReg)
            {
                throw new IOException(NotRegular(type));
            }

            // bufferSize 1: no buffer of the stream's own; the callers read into their capped buffer.
            return new FileStream(handle, FileAccess.Read, bufferSize: 1);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Why <paramref name="path"/> (following symbolic links) is no regular file to be read or replaced, such as
    /// "it is a character device, not a regular file"; null when it is a regular file or names nothing.
    /// </summary>
    public static string? NotRegularReason(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux())
        {
            return Directory.Exists(path) ? NotRegular(Native.SIfDir) : null;
        }

        return TypeOfPath(path) is { } type && type != Native.SIfReg ? NotRegular(type) : null;
    }

    /// <summary>
    /// Why the directory entry <paramref name="path"/> is not a regular file, a symbolic link there not followed (it
    /// is said to be one); null when it is a regular file. <paramref name="exists"/> is false when there is no such entry.
    /// </summary>
    public static string? EntryNotRegularReason(string path, out bool exists)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux())
        {
            var info = new FileInfo(path);
            exists = info.Exists || info.LinkTarget is not null || Directory.Exists(path);
            return info.LinkTarget is not null ? NotRegular(Native.SIfLnk) : Directory.Exists(path) ? NotRegular(Native.SIfDir) : null;
        }

        var status = new byte[Native.StatxBytes];
        if (Native.Statx(Native.AtFdCwd, path, Native.AtSymlinkNoFollow, Native.StatxType, status) != 0)
        {
            exists = false;
            return null;
        }

        exists = true;
        var type = BitConverter.ToUInt16(status, Native.StatxModeOffset) & Native.SIfMt;
        return type != Native.SIfReg ? NotRegular(type) : null;
    }

    /// <summary>What a file of mode type <paramref name="type"/> is, said as the reason it is not read.</summary>
    private static string NotRegular(int type) => type switch
    {
        Native.SIfDir => "it is a directory",
        Native.SIfIfo => "it is a named pipe (FIFO), not a regular file",
        Native.SIfChr => "it is a character device, not a regular file",
        Native.SIfBlk => "it is a block device, not a regular file",
        Native.SIfSock => "it is a socket, not a regular file",
        Native.SIfLnk => "it is a symbolic link, not a regular file",
        _ => "it is not a regular file",
    };

    private static Exception OpenError(string path, int errno) => errno switch
    {
        Native.ENoEnt => new FileNotFoundException("no such file", path),
        Native.ENotDir => new DirectoryNotFoundException("no such file"),
        Native.EAcces or Native.EPerm => new UnauthorizedAccessException("permission denied"),
        Native.ELoop => new IOException("too many levels of symbolic links"),
        // open(2) says ENXIO for a socket, and for a device with nothing behind it.
        Native.ENxIo => new IOException(TypeOfPath(path) is { } type && type != Native.SIfReg ? NotRegular(type) : "no such device or address"),
        _ => new IOException(Marshal.GetPInvokeErrorMessage(errno)),
    };

    /// <summary>The mode type of what <paramref name="path"/> names (following links), for an error message only.</summary>
    private static int? TypeOfPath(string path)
    {
        var status = new byte[Native.StatxBytes];
        return Native.Statx(Native.AtFdCwd, path, 0, Native.StatxType, status) == 0
            ? BitConverter.ToUInt16(status, Native.StatxModeOffset) & Native.SIfMt
            : null;
    }

    /// <summary>The Linux calls and constants the open needs (the same values on x86-64 and arm64).</summary>
    private static class Native
    {
        public const int ORdOnly = 0;
        public const int ONoCtty = 0x100;
        public const int ONonBlock = 0x800;
        public const int OCloExec = 0x80000;

        public const int AtFdCwd = -100;
        public const int AtSymlinkNoFollow = 0x100;
        public const int AtEmptyPath = 0x1000;
        public const uint StatxType = 0x1;

        // struct statx is the same on every Linux architecture: 256 bytes, stx_mode (u16) at 28.
        public const int StatxBytes = 256;
        public const int StatxModeOffset = 28;

        public const int SIfMt = 0xF000;
        public const int SIfSock = 0xC000;
        public const int SIfLnk = 0xA000;
        public const int SIfReg = 0x8000;
        public const int SIfBlk = 0x6000;
        public const int SIfDir = 0x4000;
        public const int SIfChr = 0x2000;
        public const int SIfIfo = 0x1000;

        public const int EPerm = 1;
        public const int ENoEnt = 2;
        public const int ENxIo = 6;
        public const int EAcces = 13;
        public const int ENotDir = 20;
        public const int ELoop = 40;

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
    }
}
