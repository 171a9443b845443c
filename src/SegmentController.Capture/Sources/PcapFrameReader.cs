using SharpPcap;
using SharpPcap.LibPcap;

namespace SegmentController.Capture.Sources;

/// <summary>
/// Pulls frames from an open libpcap handle without SharpPcap's per-packet header objects: on 64-bit
/// Unix the pcap_pkthdr layout is fixed (16-byte timeval, caplen, len), so it is read in place.
/// </summary>
internal static class PcapFrameReader
{
    private static readonly bool FixedLayout = IntPtr.Size == 8 && !OperatingSystem.IsWindows();

    /// <summary>The result of one read: 1 frame, 0 timeout, -1 error, -2 end of file.</summary>
    public static unsafe int Next(PcapDevice device, IFrameSink sink, bool nanoseconds)
    {
        if (!FixedLayout)
        {
            return NextPortable(device, sink);
        }

        var header = IntPtr.Zero;
        var data = IntPtr.Zero;
        var result = device.GetNextPacketPointers(ref header, ref data);
        if (result != 1)
        {
            return result;
        }

        var h = (byte*)header;
        var seconds = *(long*)h;
        var fraction = *(long*)(h + 8);
        var captured = *(uint*)(h + 16);
        var wire = *(uint*)(h + 20);
        var ticks = DateTime.UnixEpoch.Ticks + (seconds * TimeSpan.TicksPerSecond) + (nanoseconds ? fraction / 100 : fraction * 10);
        var length = (int)Math.Min(captured, int.MaxValue);
        sink.OnFrame(new ReadOnlySpan<byte>((void*)data, length), (int)Math.Min(wire, int.MaxValue), ticks);
        return 1;
    }

    private static int NextPortable(PcapDevice device, IFrameSink sink)
    {
        var status = device.GetNextPacket(out var capture);
        if (status != GetPacketStatus.PacketRead)
        {
            return (int)status;
        }

        var ticks = capture.Header.Timeval.Date.ToUniversalTime().Ticks;
        var wire = capture.Header is PcapHeader pcapHeader ? (int)Math.Min(pcapHeader.PacketLength, int.MaxValue) : capture.Data.Length;
        sink.OnFrame(capture.Data, wire, ticks);
        return 1;
    }

    /// <summary>Whether timestamps of <paramref name="device"/> are in nanoseconds.</summary>
    public static bool UsesNanoseconds(PcapDevice device) =>
        device.TimestampResolution == TimestampResolution.Nanosecond;

    /// <summary>DLT_EN10MB, the only link type the decoder reads.</summary>
    public const int LinkTypeEthernet = 1;
}
