using System.Runtime.InteropServices;

namespace SegmentController.Cli;

/// <summary>
/// Writes to file descriptor 1 with <c>write(2)</c>, at the descriptor's own offset, so that a redirection the
/// shell shares (<c>{ segctl log export; echo; } &gt; file</c>) goes on where this output ends. Unlike the
/// runtime's console stream, which drops a write to a pipe whose reader has gone, a failed write is an
/// <see cref="IOException"/>: <c>segctl log export | head</c> is told as an incomplete export, not a whole one.
/// </summary>
internal sealed class StandardOutputDescriptor : WriteOnlyStream
{
    private const int StandardOutput = 1;
    private const int EIntr = 4;
    private const int EPipe = 32;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var written = NativeWrite(StandardOutput, ref MemoryMarshal.GetReference(buffer), (nuint)buffer.Length);
            if (written < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EIntr)
                {
                    continue;
                }

                throw new IOException(errno == EPipe ? "its reader has closed it (broken pipe)" : Marshal.GetPInvokeErrorMessage(errno));
            }

            buffer = buffer[(int)written..];
        }
    }

    public override void Flush()
    {
    }

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern nint NativeWrite(int descriptor, ref byte buffer, nuint count);
}
