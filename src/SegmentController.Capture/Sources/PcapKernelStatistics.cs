using System.Runtime.InteropServices;
using SharpPcap.LibPcap;

namespace SegmentController.Capture.Sources;

/// <summary>
/// libpcap's <c>pcap_stats</c>, read with the C layout of <c>struct pcap_stat</c> (three
/// <c>u_int</c>s). SharpPcap's own statistics on Linux lose the kernel's drop count, and a capture
/// that hides its drops looks clean when it is not.
/// </summary>
internal static unsafe class PcapKernelStatistics
{
    private static readonly delegate* unmanaged<IntPtr, PcapStat*, int> Stats =
        (delegate* unmanaged<IntPtr, PcapStat*, int>)LibPcapExports.Find("pcap_stats");

    /// <summary>Reads the handle's cumulative counters; false when libpcap cannot say.</summary>
    public static bool TryRead(PcapDevice device, out uint received, out uint dropped, out uint interfaceDropped)
    {
        ArgumentNullException.ThrowIfNull(device);
        received = dropped = interfaceDropped = 0;
        if (Stats is null)
        {
            return false;
        }

        PcapStat stat;
        if (Stats(device.Handle.DangerousGetHandle(), &stat) != 0)
        {
            return false;
        }

        received = stat.Received;
        dropped = stat.Dropped;
        interfaceDropped = stat.InterfaceDropped;
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PcapStat
    {
        public uint Received;
        public uint Dropped;
        public uint InterfaceDropped;
    }
}
