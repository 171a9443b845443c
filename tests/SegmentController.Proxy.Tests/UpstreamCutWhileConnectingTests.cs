using System.Net;
using System.Net.Sockets;
using SegmentController.Proxy.Forwarding;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// A cut that comes while an upstream connection is being made (its socket known, the suspension checked,
/// the connection not yet made): the connection, once made, carries nothing. The reset sockets' close is
/// held back to the end, so what keeps the connection unused is the cut itself, not the close coming first.
/// </summary>
public sealed class UpstreamCutWhileConnectingTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DropPoolBetweenTheCheckAndTheConnection_NothingReachesTheUpstream()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = 0L;
        var accepted = 0;
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            var readers = new List<Task>();
            try
            {
                while (true)
                {
                    var connection = await listener.AcceptSocketAsync(stop.Token);
                    Interlocked.Increment(ref accepted);
                    readers.Add(Task.Run(async () =>
                    {
                        using var _ = connection;
                        var buffer = new byte[4096];
                        try
                        {
                            int read;
                            while ((read = await connection.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                            {
                                Interlocked.Add(ref received, read);
                            }
                        }
                        catch (SocketException)
                        {
                            // Reset by the proxy's side.
                        }
                    }));
                }
            }
            catch (OperationCanceledException)
            {
                await Task.WhenAll(readers);
            }
        });

        var heldBack = new System.Collections.Concurrent.ConcurrentQueue<Socket>();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using var checking = new SemaphoreSlim(0);
            using var proceed = new SemaphoreSlim(0);
            using var handler = new ClientUpstreamHandler(
                "acme",
                () => new SocketsHttpHandler { UseProxy = false },
                _ =>
                {
                    // The suspension check passes (no trip yet), and the cut comes before the connection is made.
                    checking.Release();
                    proceed.Wait(HangGuard);
                    return false;
                })
            {
                CloseLater = heldBack.Enqueue,
            };
            using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
            var sending = invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/attempt/{attempt}"), CancellationToken.None);
            Assert.True(await checking.WaitAsync(HangGuard));

            handler.DropPool();
            proceed.Release();

            // Refused before anything was sent; a request sent would wait for an answer this upstream never gives.
            var failure = await Record.ExceptionAsync(() => sending.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.NotNull(failure);
            Assert.IsNotType<TimeoutException>(failure);
        }

        await Task.Delay(200);
        Assert.NotEmpty(heldBack);
        foreach (var socket in heldBack)
        {
            ClientUpstreamHandler.Close(socket);
        }

        await stop.CancelAsync();
        await accepting.WaitAsync(HangGuard);
        Assert.Equal(0L, Interlocked.Read(ref received));
    }
}
