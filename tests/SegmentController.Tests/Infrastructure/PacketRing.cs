namespace SegmentController.Tests.Infrastructure;

/// <summary>
/// Whether a process has libpcap's receive ring on an interface. The ring is the last thing libpcap sets up
/// on its packet socket: before it a frame can reach the socket and never show in the capture's counts;
/// from the moment it is mapped every frame is received or counted dropped. The ring is a shared mapping
/// of the socket (<c>socket:[inode]</c> in <c>/proc/PID/maps</c>), and <c>/proc/net/packet</c> names the
/// interface each packet socket is bound to.
/// </summary>
internal static class PacketRing
{
    public static bool IsMapped(int processId, string interfaceName)
    {
        string index;
        try
        {
            index = File.ReadAllText($"/sys/class/net/{interfaceName}/ifindex").Trim();
        }
        catch (IOException)
        {
            return false;
        }

        // sk RefCnt Type Proto Iface R Rmem User Inode
        var sockets = File.ReadLines("/proc/net/packet").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 9 && fields[4] == index)
            .Select(fields => $"socket:[{fields[8]}]")
            .ToHashSet(StringComparer.Ordinal);
        if (sockets.Count == 0)
        {
            return false;
        }

        try
        {
            return File.ReadLines($"/proc/{processId}/maps").Any(line => sockets.Any(socket => line.EndsWith(socket, StringComparison.Ordinal)));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits up to a minute for the ring; false when <paramref name="ended"/> says the capture ended first.
    /// </summary>
    public static async Task<bool> WaitAsync(int processId, string interfaceName, Func<bool> ended)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!IsMapped(processId, interfaceName))
        {
            if (ended())
            {
                return false;
            }

            Assert.True(DateTime.UtcNow < deadline, $"process {processId} did not set up a capture ring on {interfaceName} within a minute");
            await Task.Delay(50);
        }

        return true;
    }
}
