using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// One writer per store: an exclusive <c>flock</c> on <c>STORE.lock</c> beside the database, taken before
/// the writer opens the file and held until it closes. The holder writes who it is (pid, program, since)
/// into the lock file, so a second writer — <c>segctl log append</c> or <c>pcap analyze --store</c> against
/// the controller's live store — is refused with a message naming the holder instead of interleaving its
/// batches with the controller's. The kernel drops the lock with the process, even after SIGKILL.
/// Readers (verify, export, reports) take no lock: they read a WAL snapshot.
/// </summary>
/// <remarks>
/// A <c>flock</c> belongs to the open file description, not to the descriptor: a child process started
/// by any thread of this one shares the description from its fork until its exec closes the copy
/// (close-on-exec). Were the lock file only closed, a child started at that moment would keep the store
/// locked, under this process's name, after the store's close had returned. So <see cref="Dispose"/>
/// releases the lock explicitly (<c>LOCK_UN</c> frees it for every descriptor sharing the description)
/// and then closes the file.
/// </remarks>
internal sealed class StoreLock : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly int _fd;
    private int _released;

    private StoreLock(SafeFileHandle handle, int fd, string path)
    {
        _handle = handle;
        _fd = fd;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>The lock file of a store.</summary>
    public static string PathFor(string storePath) => storePath + ".lock";

    /// <summary>Takes the store's writer lock without waiting.</summary>
    /// <exception cref="StoreUnavailableException">Another process holds it (named), or the lock file cannot be used.</exception>
    public static StoreLock Acquire(string storePath)
    {
        ArgumentNullException.ThrowIfNull(storePath);
        var path = PathFor(DatabasePath(storePath));
        if (!OperatingSystem.IsLinux())
        {
            throw new StoreUnavailableException("the evidence store's writer lock needs Linux (flock)");
        }

        var fd = LockNative.Open(path, LockNative.ORdWr | LockNative.OCreat | LockNative.OCloexec, LockNative.OwnerReadWrite);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new StoreUnavailableException($"store {storePath}: lock file {path} cannot be opened: {LockNative.Describe(errno)}");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (LockNative.Flock(fd, LockNative.LockEx | LockNative.LockNb) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var holder = errno == LockNative.EWouldBlock ? ReadHolder(handle) : null;
            handle.Dispose();
            throw errno == LockNative.EWouldBlock
                ? new StoreUnavailableException($"store {storePath} is in use by another writer ({holder ?? "holder unknown"}; lock {path}): one process writes a store at a time; go through the running controller (its API), or stop it first")
                : new StoreUnavailableException($"store {storePath}: lock file {path} cannot be locked: {LockNative.Describe(errno)}");
        }

        try
        {
            var holder = Encoding.UTF8.GetBytes(Describe() + "\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, holder, 0);
            RandomAccess.FlushToDisk(handle);
        }
        catch (IOException)
        {
            // The lock is what counts; who holds it is a courtesy for the next one.
        }

        return new StoreLock(handle, fd, path);
    }

    /// <summary>Who holds the lock of <paramref name="storePath"/>, as its holder wrote it; null when nobody or unknown.</summary>
    public static string? Holder(string storePath)
    {
        var path = PathFor(DatabasePath(storePath));
        var fd = OperatingSystem.IsLinux() ? LockNative.Open(path, LockNative.ORdOnly | LockNative.OCloexec, 0) : -1;
        if (fd < 0)
        {
            return null;
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        return ReadHolder(handle);
    }

    /// <summary>Releases the lock (for every descriptor sharing it: see the remarks) and closes the file.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        try
        {
            // Unlocking cannot block; should it fail, closing the descriptor is what remains.
            _ = LockNative.Flock(_fd, LockNative.LockUn);
        }
        finally
        {
            _handle.Dispose();
        }
    }

    /// <summary>
    /// The database file the store path leads to, symbolic links (of the file or of a directory on the way)
    /// resolved: the lock belongs beside it, so that the same store named two ways has one lock. A store not
    /// made yet is named by its resolved directory.
    /// </summary>
    private static string DatabasePath(string storePath)
    {
        var full = System.IO.Path.GetFullPath(storePath);
        if (!OperatingSystem.IsLinux())
        {
            return full;
        }

        if (LockNative.RealPath(full) is { } resolved)
        {
            return resolved;
        }

        return System.IO.Path.GetDirectoryName(full) is { } directory && LockNative.RealPath(directory) is { } resolvedDirectory
            ? System.IO.Path.Combine(resolvedDirectory, System.IO.Path.GetFileName(full))
            : full;
    }

    private static string? ReadHolder(SafeFileHandle handle)
    {
        try
        {
            var buffer = new byte[512];
            var read = RandomAccess.Read(handle, buffer, 0);
            var text = Encoding.UTF8.GetString(buffer, 0, read).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Describe()
    {
        // The program and its command words (never option values: they may carry payloads or paths).
        var words = Environment.GetCommandLineArgs().Skip(1)
            .Where(a => !a.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .TakeWhile(a => !a.StartsWith('-'))
            .Take(3);
        var program = System.IO.Path.GetFileNameWithoutExtension(Environment.GetCommandLineArgs().FirstOrDefault(a => a.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) ?? Environment.ProcessPath ?? "unknown");
        var command = string.Join(' ', new[] { program }.Concat(words));
        return string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId}: {command}, since {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}");
    }
}
