using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// An upgraded connection (HTTP/1.1 101, HTTP/2 extended CONNECT) is one request: its access record
/// counts what crossed the upgraded stream each way and lasts as long as the connection.
/// </summary>
public sealed class WebSocketAccessRecordTests : IAsyncLifetime
{
    private const int Messages = 8;
    private const int MessageBytes = 16 * 1024;

    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData(1, 101)]
    [InlineData(2, 200)]
    public async Task WebSocketThroughTheProxy_RecordedOnce_BytesEachWayAndTheConnectionsWholeDuration(int httpMajor, int status)
    {
        using var invoker = new HttpMessageInvoker(_h.AgentHandler(ProxyHarness.AcmeAgent));
        using var ws = new ClientWebSocket();
        ws.Options.HttpVersion = new Version(httpMajor, httpMajor == 1 ? 1 : 0);
        ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        await ws.ConnectAsync(new Uri("wss://acme.test/ws"), invoker, CancellationToken.None);
        var open = Stopwatch.StartNew();

        var message = new byte[MessageBytes];
        Random.Shared.NextBytes(message);
        var echo = new byte[MessageBytes];
        long received = 0;
        for (var i = 0; i < Messages; i++)
        {
            await ws.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            var got = 0;
            while (got < MessageBytes)
            {
                got += (await ws.ReceiveAsync(echo.AsMemory(got), CancellationToken.None)).Count;
            }

            received += got;
        }

        // Held open a while, so a record that ended with the handshake would show it.
        await Task.Delay(300);
        var held = open.Elapsed;
        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        try
        {
            while ((await ws.ReceiveAsync(echo, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (WebSocketException)
        {
            // The echo server ends without answering the close: the connection just ends.
        }

        Assert.Equal((long)Messages * MessageBytes, received);
        const long payload = (long)Messages * MessageBytes;

        var records = await _h.AccessRecordsAsync(1);
        var record = Assert.Single(records, r => r.GetProperty("path").GetString() == "/ws");
        Assert.Equal(status, record.GetProperty("status").GetInt32());
        Assert.Equal(ProxyOutcomes.Forwarded, record.GetProperty("outcome").GetString());
        var bytesIn = record.GetProperty("bytes_in").GetInt64();
        var bytesOut = record.GetProperty("bytes_out").GetInt64();
        // The payload plus frame headers (at most 14 bytes a frame, a few frames): counted once, not twice.
        Assert.True(bytesIn >= payload && bytesIn <= payload + 1024, $"bytes_in {bytesIn} for {payload} sent by the agent: {record}");
        Assert.True(bytesOut >= payload && bytesOut <= payload + 1024, $"bytes_out {bytesOut} for {payload} received by the agent: {record}");
        var duration = record.GetProperty("duration_seconds").GetDouble();
        Assert.True(duration >= held.TotalSeconds, $"duration {duration} s < {held.TotalSeconds} s the connection was open: {record}");

        // Nothing else was recorded for it (one request, one record): not before the record of a request made
        // after it, which the recorder hands over in order.
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/after"))).StatusCode);
        var deadline = Stopwatch.StartNew();
        while (!(records = await _h.AccessRecordsAsync(2)).Any(r => r.GetProperty("path").GetString() == "/after"))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(1), "the access record of the request made after the WebSocket was not written");
            await Task.Delay(20);
        }

        Assert.Single(records, r => r.GetProperty("path").GetString() == "/ws");
    }
}
