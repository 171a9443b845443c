using System.Runtime.InteropServices;
using SharpPcap.LibPcap;

namespace SegmentController.Capture.Sources;

/// <summary>
/// Waits for a live pcap handle to become readable. On Linux, libpcap's read timeout does not make a
/// read return while the wire is quiet (TPACKET_V3), so the handle runs non-blocking and we poll its
/// selectable descriptor ourselves: a quiet wire then wakes us to notice silence and stop promptly.
/// </summary>
internal static unsafe partial class PcapPoll
{
    private const short PollIn = 0x0001;

    private static readonly delegate* unmanaged<IntPtr, int> GetSelectableFd =
        (delegate* unmanaged<IntPtr, int>)LibPcapExports.Find("pcap_get_selectable_fd");

    /// <summary>The handle's descriptor, or -1 when it has none (then callers sleep instead).</summary>
    public static int Descriptor(PcapDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return GetSelectableFd is null ? -1 : GetSelectableFd(device.Handle.DangerousGetHandle());
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for <paramref name="descriptor"/> to be readable.</summary>
    public static void Wait(int descriptor, int timeoutMilliseconds)
    {
        if (descriptor < 0)
        {
            Thread.Sleep(Math.Min(timeoutMilliseconds, 10));
            return;
        }

        var fd = new PollFd { Fd = descriptor, Events = PollIn };
        _ = Poll(&fd, 1, timeoutMilliseconds);
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
