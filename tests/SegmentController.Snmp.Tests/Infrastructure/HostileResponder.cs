using System.Net;
using System.Net.Sockets;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// A hostile peer on a loopback port: it answers each datagram with whatever the test's callback returns
/// (truncated BER, wrong ids, floods). It is not an agent; it exists to attack the client.
/// </summary>
internal sealed class HostileResponder : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public HostileResponder(Func<byte[], IEnumerable<byte[]>> respond)
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _loop = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                Interlocked.Increment(ref _requests);
                foreach (var datagram in respond(buffer.AsSpan(0, received.ReceivedBytes).ToArray()))
                {
                    await _socket.SendToAsync(datagram, SocketFlags.None, received.RemoteEndPoint);
                }
            }
        });
    }

    private int _requests;

    public int Port { get; }

    public string Target => $"127.0.0.1:{Port}";

    public int Requests => Volatile.Read(ref _requests);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _socket.Dispose();
        _stop.Dispose();
    }
}
