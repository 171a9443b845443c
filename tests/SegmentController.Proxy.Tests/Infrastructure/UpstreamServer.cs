using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// A real HTTPS upstream on loopback that logs every request it receives (and the body bytes it read).
/// <c>/stream</c> streams until cut (it never ends by itself), <c>/ws</c> echoes WebSocket messages,
/// anything else reads the body and answers with the upstream's name. Each connection it accepted is
/// kept with the moment its peer closed or reset it (<see cref="Connections"/>).
/// </summary>
internal sealed class UpstreamServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private UpstreamServer(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public ConcurrentQueue<UpstreamHit> Hits { get; } = new();

    public int Port { get; private set; }

    public Uri Address => new($"https://127.0.0.1:{Port}/");

    public long BodyBytes => Hits.Sum(h => h.BodyBytes);

    /// <summary>Every connection accepted, by Kestrel's connection id (the id each <see cref="UpstreamHit"/> names).</summary>
    public ConcurrentDictionary<string, UpstreamConnection> Connections { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests being handled now.</summary>
    public int InProgress => Volatile.Read(ref _inProgress);

    private int _inProgress;

    public static async Task<UpstreamServer> StartAsync(string name, X509Certificate2 certificate, HttpProtocols protocols = HttpProtocols.Http1AndHttp2)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        UpstreamServer? server = null;
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = protocols;

            // Outermost: sees the TCP connection from accept until the peer's FIN or RST ends it.
            o.Use(next => async connection =>
            {
                var tracked = new UpstreamConnection(connection.ConnectionId);
                server!.Connections[connection.ConnectionId] = tracked;
                try
                {
                    await next(connection);
                }
                finally
                {
                    tracked.Closed.TrySetResult();
                }
            });
            o.UseHttps(h =>
            {
                h.ServerCertificate = certificate;
                h.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            });
        }));
        var app = builder.Build();
        server = new UpstreamServer(name, app);
        app.UseWebSockets();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Port = new Uri(address).Port;
        return server;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _inProgress);
        try
        {
            await HandleCoreAsync(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inProgress);
        }
    }

    private async Task HandleCoreAsync(HttpContext context)
    {
        var hit = new UpstreamHit(
            context.Request.Method,
            context.Request.Host.Value ?? "",
            context.Request.Path.Value ?? "",
            context.Request.Headers["X-Forwarded-For"].ToString(),
            DateTimeOffset.UtcNow)
        {
            ConnectionId = context.Connection.Id,
            Protocol = context.Request.Protocol,
            Headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
        };
        Hits.Enqueue(hit);

        if (context.WebSockets.IsWebSocketRequest)
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
                return;
            }
        }

        var body = new byte[8192];
        int read;
        try
        {
            while ((read = await context.Request.Body.ReadAsync(body, context.RequestAborted)) > 0)
            {
                hit.BodyBytes += read;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            return;
        }

        if (context.Request.Path.StartsWithSegments("/stream", StringComparison.Ordinal))
        {
            var chunk = new byte[1024];
            try
            {
                while (true)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(20, context.RequestAborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                return;
            }
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync("upstream:" + Name);
        await context.Response.CompleteAsync();
        hit.Answered = DateTimeOffset.UtcNow;
    }
}
