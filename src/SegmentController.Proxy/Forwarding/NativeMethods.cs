using System.Runtime.InteropServices;

namespace SegmentController.Proxy.Forwarding;

internal static class NativeMethods
{
    /// <summary>A <c>struct sockaddr</c> of family AF_UNSPEC (0), as long as a <c>sockaddr_in</c>.</summary>
    public static readonly byte[] UnspecifiedAddress = new byte[16];

    // connect(2) with an AF_UNSPEC address dissolves a TCP socket's connection (tcp_disconnect): the
    // kernel sends a reset, discards what it had not sent, and the socket can send nothing more.
    [DllImport("libc", EntryPoint = "connect", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Connect(int fd, byte[] address, int length);
}
