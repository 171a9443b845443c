using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace SegmentController.Storage.Tests.Support;

/// <summary>A real HTTPS receiver on 127.0.0.1 with a self-signed certificate made for the test.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(byte[] Body, string? Signature, string? Incident)> _received = [];
    private int _failuresLeft;

    private WebhookReceiver(WebApplication app, X509Certificate2 certificate, int failFirst)
    {
        _app = app;
        Certificate = certificate;
        _failuresLeft = failFirst;
    }

    public X509Certificate2 Certificate { get; }

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<(byte[] Body, string? Signature, string? Incident)> Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToArray();
            }
        }
    }

    /// <summary>From now on, answers 503 to the next <paramref name="count"/> requests (0: accepts again).</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    /// <summary>Starts a receiver that answers 503 to the first <paramref name="failFirst"/> requests.</summary>
    public static async Task<WebhookReceiver> StartAsync(int failFirst = 0)
    {
        var certificate = CreateCertificate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate })));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, certificate, failFirst);
        app.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            lock (receiver._received)
            {
                receiver._received.Add((body.ToArray(), context.Request.Headers["X-Segctl-Signature"].ToString(), context.Request.Headers["X-Segctl-Incident"].ToString()));
            }

            return Interlocked.Decrement(ref receiver._failuresLeft) >= 0 ? Results.StatusCode(503) : Results.Ok();
        });
        await app.StartAsync();
        var address = app.Urls.First();
        receiver.Url = new Uri(new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), "/hook");
        return receiver;
    }

    /// <summary>A client that trusts exactly this receiver's certificate (pinned), nothing else.</summary>
    public static HttpClient PinnedClient(X509Certificate2 pinned)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && certificate.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(pinned.GetCertHash(HashAlgorithmName.SHA256));
        return new HttpClient(handler);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=segctl-test-receiver", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
