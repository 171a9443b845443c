using System.Net;
using System.Net.Sockets;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// Loopback ports for servers a test starts later (snmpd, snmpsimd, openssl s_server, segctl, Kestrel),
/// and for ports a test needs closed. A port bound to 0 and closed again is the kernel's to give the next
/// process that binds port 0 or connects out, so another test could take it before its server binds it.
/// These are taken below the kernel's ephemeral range, which it never hands out on its own, free on TCP
/// and UDP when taken, and held for the life of the test process by a lock file every test process
/// honours. One test run never gets the same port twice.
/// </summary>
internal static class FreePort
{
    private static readonly string LockDirectory = Path.Combine(Path.GetTempPath(), "segctl-test-ports");
    private static readonly List<FileStream> Held = [];
    private static readonly (int First, int Last) Range = ReservedRange();
    private static int _next = Range.First + Random.Shared.Next(Range.Last - Range.First + 1);

    public static int Udp() => Take();

    public static int Tcp() => Take();

    private static int Take()
    {
        lock (Held)
        {
            Directory.CreateDirectory(LockDirectory);
            for (var tried = 0; tried <= Range.Last - Range.First; tried++)
            {
                var port = _next;
                _next = port == Range.Last ? Range.First : port + 1;
                if (Hold(port) is not { } held)
                {
                    continue;
                }

                if (IsFree(port))
                {
                    Held.Add(held);
                    return port;
                }

                held.Dispose();
            }

            throw new InvalidOperationException($"no free loopback port in {Range.First}-{Range.Last}");
        }
    }

    // The lock (an exclusive flock, as FileShare.None is on Unix) goes when the process does, however it ends.
    private static FileStream? Hold(int port)
    {
        try
        {
            return new FileStream(Path.Combine(LockDirectory, port.ToString(System.Globalization.CultureInfo.InvariantCulture)), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsFree(int port)
    {
        foreach (var (type, protocol) in new[] { (SocketType.Stream, ProtocolType.Tcp), (SocketType.Dgram, ProtocolType.Udp) })
        {
            using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    // Below ip_local_port_range when there is room for a few thousand ports there, else above it.
    private static (int First, int Last) ReservedRange()
    {
        var (low, high) = (32768, 60999);
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            (low, high) = (int.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }

        return low - 4096 >= 1024
            ? (Math.Max(1024, low - 12000), low - 1)
            : (high + 1, Math.Min(65535, high + 12000));
    }
}
