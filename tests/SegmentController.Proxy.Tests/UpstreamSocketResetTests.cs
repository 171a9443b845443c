using System.Net;
using System.Net.Sockets;
using SegmentController.Proxy.Forwarding;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// The reset a trip gives each upstream socket of the client: the peer sees a reset, not a close, and
/// none of what was still waiting to be sent; calls other threads have under way on the socket end.
/// </summary>
public sealed class UpstreamSocketResetTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reset_WithUnsentBytesAndABlockedReceive_PeerSeesAResetAndNothingMore()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = 16 * 1024;
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = 16 * 1024 };
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var peer = await listener.AcceptAsync();

        // A thread blocked in a synchronous receive holds the socket for as long as it waits.
        Exception? receiveEnded = null;
        var receiving = new Thread(() =>
        {
            try
            {
                client.Receive(new byte[1]);
            }
            catch (Exception e)
            {
                receiveEnded = e;
            }
        })
        { IsBackground = true };
        receiving.Start();

        // The peer reads nothing yet: most of this waits, unsent, on the client's side.
        var payload = new byte[8 * 1024 * 1024];
        var sending = client.SendAsync(payload, SocketFlags.None);
        using (var guard = new CancellationTokenSource(HangGuard))
        {
            while (peer.Available < 16 * 1024)
            {
                await Task.Delay(10, guard.Token);
            }
        }

        ClientUpstreamHandler.Reset(client);

        var received = 0L;
        var buffer = new byte[64 * 1024];
        var reset = false;
        peer.ReceiveTimeout = (int)HangGuard.TotalMilliseconds;
        while (true)
        {
            try
            {
                var read = peer.Receive(buffer);
                if (read == 0)
                {
                    break;
                }

                received += read;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                reset = true;
                break;
            }
        }

        Assert.True(reset, $"the peer saw the connection closed, not reset, after {received} bytes");
        Assert.InRange(received, 16 * 1024, payload.Length - 1);
        await Assert.ThrowsAnyAsync<Exception>(() => sending.WaitAsync(HangGuard));
        Assert.True(receiving.Join(HangGuard), "the blocked receive did not end");
        Assert.NotNull(receiveEnded);

        // The descriptor itself is closed off the caller's thread, soon after.
        using (var guard = new CancellationTokenSource(HangGuard))
        {
            while (!client.SafeHandle.IsClosed)
            {
                await Task.Delay(10, guard.Token);
            }
        }
    }
}
