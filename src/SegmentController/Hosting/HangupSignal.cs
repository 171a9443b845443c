using System.Runtime.InteropServices;

namespace SegmentController.Hosting;

/// <summary>
/// SIGHUP is the controller's reload, whatever the process was started with. A process started with SIGHUP
/// ignored (<c>nohup segctl run …</c>, a shell's <c>trap '' HUP</c>, a supervisor that ignores it) inherits the
/// ignored disposition, and .NET leaves an ignored signal ignored: a <see cref="PosixSignalRegistration"/> for it
/// is made but never called, so a reload would be asked for and silently never happen. The disposition is put
/// back to the default before the reload's registration, which then takes the signal. A hangup of the terminal
/// the controller was started from is then a reload of the same file, not an exit.
/// </summary>
internal static class HangupSignal
{
    private const int SigHup = 1;
    private static readonly IntPtr SigDfl = IntPtr.Zero;
    private static readonly IntPtr SigIgn = new(1);

    // struct sigaction begins with its handler on every Linux architecture glibc and musl support; 256 bytes
    // hold the whole structure on each of them.
    private const int SigactionBytes = 256;

    /// <summary>
    /// Makes an ignored SIGHUP take the default disposition again (until the registration that follows takes it).
    /// True when it was ignored.
    /// </summary>
    public static bool StopIgnoring()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var current = new byte[SigactionBytes];
        if (Sigaction(SigHup, IntPtr.Zero, current) != 0 || BitConverter.ToInt64(current, 0) != SigIgn.ToInt64())
        {
            return false;
        }

        return Signal(SigHup, SigDfl) == SigIgn;
    }

    [DllImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Sigaction(int signal, IntPtr action, [Out] byte[] previous);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr Signal(int signal, IntPtr handler);
}
