using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SegmentController.Tests.Incidents;

/// <summary>
/// A client's SOC receiving incident notices: a real HTTPS listener on 127.0.0.1 (its self-signed
/// certificate written as a PEM the controller trusts as <c>controller.proxy.upstream_ca</c>), each path a
/// different contact; it can refuse (503) until told to accept.
/// </summary>
internal sealed class NoticeReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Path, byte[] Body, string Signature)> _received = [];
    private volatile bool _refusing;

    private NoticeReceiver(WebApplication app, string certificatePath)
    {
        _app = app;
        CertificatePath = certificatePath;
    }

    public string CertificatePath { get; }

    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<(string Path, byte[] Body, string Signature)> Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToArray();
            }
        }
    }

    public bool Refusing
    {
        get => _refusing;
        set => _refusing = value;
    }

    public static async Task<NoticeReceiver> StartAsync(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=segctl-notice-receiver", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        var path = Path.Combine(directory, "receiver-ca.pem");
        await File.WriteAllTextAsync(path, created.ExportCertificatePem());

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        var receiver = new NoticeReceiver(app, path);
        app.MapPost("/{contact}", async (HttpContext context, string contact) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (receiver._refusing)
            {
                return Results.StatusCode(503);
            }

            lock (receiver._received)
            {
                receiver._received.Add((contact, body.ToArray(), context.Request.Headers["X-Segctl-Signature"].ToString()));
            }

            return Results.Ok();
        });
        await app.StartAsync();
        receiver.BaseUrl = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
