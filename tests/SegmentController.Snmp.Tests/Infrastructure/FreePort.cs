using System.Net;
using System.Net.Sockets;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// Loopback ports for servers a test starts later (snmpd, snmpsimd, openssl s_server, segctl, Kestrel),
/// and for ports a test needs closed. A port bound to 0 and closed again is the kernel's to give the next
/// process that binds port 0 or connects out, so another test could take it before its server binds it.
/// These are taken below the kernel's ephemeral range, which it never hands out on its own, free on TCP
/// and UDP when taken, and held for the life of the test process by an abstract Unix socket named after
/// the port, which every test process binds first and the kernel lets go when the process ends (no file
/// is left behind). One test run never gets the same port twice.
/// </summary>
internal static class FreePort
{
    private static readonly List<Socket> Held = [];
    private static readonly (int First, int Last) Range = ReservedRange();
    private static int _next = Range.First + Random.Shared.Next(Range.Last - Range.First + 1);

    public static int Udp() => Take();

    public static int Tcp() => Take();

    private static int Take()
    {
        lock (Held)
        {
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

    // An abstract socket name can be bound by one socket at a time, in the root network namespace where the
    // tests run; it goes when the process does, however it ends.
    private static Socket? Hold(int port)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint("\0segctl-test-port-" + port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
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
