using System.Net;
using System.Net.Sockets;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>Unused UDP ports on loopback, never handed out twice in one test run.</summary>
internal static class FreePort
{
    private static readonly HashSet<int> Given = [];

    public static int Udp()
    {
        lock (Given)
        {
            while (true)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
