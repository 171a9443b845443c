using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SegmentController.Audits;
using SegmentController.Core.Audits;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Audits;

/// <summary>
/// The proxy listener's TLS check judges a listener by handshaking with it. Against OpenSSL's own server
/// (<c>openssl s_server</c>) set to accept TLS 1.1 it fails; set to TLS 1.2 only it passes; serving another
/// certificate it fails; with nothing listening it has no evidence.
/// </summary>
public sealed class TlsListenerProbeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-tlsprobe-").FullName;
    private readonly string _certificate;
    private readonly string _key;
    private readonly byte[] _fingerprint;

    public TlsListenerProbeTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=segctl-probe-test", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = Path.Combine(_dir, "cert.pem");
        _key = Path.Combine(_dir, "key.pem");
        File.WriteAllText(_certificate, certificate.ExportCertificatePem());
        File.WriteAllText(_key, key.ExportPkcs8PrivateKeyPem());
        _fingerprint = SHA256.HashData(certificate.RawData);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ListenerAcceptingTls11_Fails()
    {
        await using var server = await OpenSslServer.StartAsync(_certificate, _key, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
        var check = await TlsListenerProbe.CheckAsync("proxy", "proxy listener TLS", server.Endpoint, _fingerprint, CancellationToken.None);
        Assert.Equal(AuditOutcome.Fail, check.Outcome);
        Assert.Contains("accepted a TLS 1.1 handshake", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenerTls12Only_WithItsCertificate_Passes_WithAnotherCertificate_Fails()
    {
        await using var server = await OpenSslServer.StartAsync(_certificate, _key, "-tls1_2");
        var check = await TlsListenerProbe.CheckAsync("proxy", "proxy listener TLS", server.Endpoint, _fingerprint, CancellationToken.None);
        Assert.True(check.Outcome == AuditOutcome.Pass, check.Detail);
        Assert.Contains("refused TLS 1.0 and 1.1", check.Detail, StringComparison.Ordinal);

        var other = await TlsListenerProbe.CheckAsync("proxy", "proxy listener TLS", server.Endpoint, new byte[32], CancellationToken.None);
        Assert.Equal(AuditOutcome.Fail, other.Outcome);
        Assert.Contains("refused a TLS 1.2 handshake", other.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingListening_Indeterminate()
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort.Tcp());
        var check = await TlsListenerProbe.CheckAsync("proxy", "proxy listener TLS", endpoint, _fingerprint, CancellationToken.None);
        Assert.Equal(AuditOutcome.Indeterminate, check.Outcome);
    }

    [Theory]
    [InlineData("https://0.0.0.0:8443", "127.0.0.1:8443")]
    [InlineData("https://[::]:443", "[::1]:443")]
    [InlineData("https://10.1.2.3:8443", "10.1.2.3:8443")]
    public void Dialable_WildcardsBecomeLoopback(string address, string expected) =>
        Assert.Equal(expected, TlsListenerProbe.Dialable(address)!.ToString());

    /// <summary><c>openssl s_server</c> on a free loopback port, killed on dispose.</summary>
    private sealed class OpenSslServer : IAsyncDisposable
    {
        private readonly Process _process;

        private OpenSslServer(Process process, IPEndPoint endpoint)
        {
            _process = process;
            Endpoint = endpoint;
        }

        public IPEndPoint Endpoint { get; }

        public static async Task<OpenSslServer> StartAsync(string certificate, string key, params string[] options)
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort.Tcp());
            var info = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var arg in new[] { "s_server", "-accept", $"127.0.0.1:{endpoint.Port}", "-cert", certificate, "-key", key, "-quiet" }.Concat(options))
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info)!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(endpoint);
                    return new OpenSslServer(process, endpoint);
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(50);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
