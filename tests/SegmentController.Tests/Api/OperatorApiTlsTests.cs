using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using SegmentController.Cli;
using SegmentController.Hosting;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>The management listener with TLS: client certificates pinned in the keys file, the CLI's --ca-file trust.</summary>
public sealed class OperatorApiTlsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-api-tls-").FullName;
    private readonly Dictionary<string, string> _keys = new() { ["val"] = OperatorApiSite.NewKey() };
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _client = null!;
    private X509Certificate2 _stranger = null!;
    private WebApplication _app = null!;
    private Uri _url = null!;

    private string CaFile => Path.Combine(_dir, "ca.pem");

    public async Task InitializeAsync()
    {
        // One instant for every validity period: a server certificate may not outlive its CA by a tick.
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=segctl test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        _ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
        File.WriteAllText(CaFile, _ca.ExportCertificatePem());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(_ca, now.AddHours(-1), now.AddDays(1), [1, 2, 3, 4]);
        var certFile = Path.Combine(_dir, "server.pem");
        var keyFile = Path.Combine(_dir, "server.key");
        File.WriteAllText(certFile, server.ExportCertificatePem());
        File.WriteAllText(keyFile, serverKey.ExportPkcs8PrivateKeyPem());

        _client = SelfSigned("CN=ops-laptop");
        _stranger = SelfSigned("CN=stranger");
        var keysFile = Path.Combine(_dir, "api-keys");
        File.WriteAllLines(keysFile,
        [
            OperatorApiSite.Line("val", "viewer", _keys["val"]),
            $"ops operator,viewer cert-sha256:{Convert.ToHexStringLower(SHA256.HashData(_client.RawData))}",
        ]);

        var opened = PolicyFile.Open(TestSite.WritePolicy(_dir, apiKeysFile: keysFile, certificateFile: certFile, keyFile: keyFile));
        Assert.NotNull(opened.Provider);
        _app = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"]);
        await _app.StartAsync();
        _url = new Uri(_app.BoundAddresses()[0]);
        Assert.Equal("https", _url.Scheme);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ca.Dispose();
        _client.Dispose();
        _stranger.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("-tls1_1")]
    [InlineData("-tls1")]
    public async Task OldTls_HandshakeRefusedByTheManagementListener(string version)
    {
        // The security level is lowered so that openssl really offers the old version.
        var (exitCode, output) = await OpenSsl.ClientAsync("-connect", _url.Authority, version, "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", CaFile);

        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain("BEGIN CERTIFICATE", output, StringComparison.Ordinal);
        Assert.Contains("Cipher is (NONE)", output, StringComparison.Ordinal);
        // The listener's own refusal (alert 70), not the local openssl declining to offer the version.
        Assert.Contains("alert protocol version", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-tls1_2", "TLSv1.2")]
    [InlineData("-tls1_3", "TLSv1.3")]
    public async Task ModernTls_HandshakeAcceptedByTheManagementListener(string version, string protocol)
    {
        var (_, output) = await OpenSsl.ClientAsync("-connect", _url.Authority, version, "-CAfile", CaFile);

        Assert.Contains($"New, {protocol}, Cipher is ", output, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PinnedClientCertificate_AuthenticatesAsItsOperator()
    {
        using var http = Https(_client);
        using var response = await http.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("by certificate"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains("\"actor\": \"ops\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedAuthenticationsFromTheAddress_PinnedClientCertificateStillServed_UnknownOneWaits()
    {
        using var stranger = Https(_stranger);
        for (var i = 0; i < 10; i++)
        {
            using var attempt = await stranger.GetAsync("api/v1/status");
            Assert.Equal(HttpStatusCode.Unauthorized, attempt.StatusCode);
        }

        using (var limited = await stranger.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        }

        // The handshake proved the pinned certificate's key: no guess, so no wait.
        using var ops = Https(_client);
        using (var status = await ops.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        }

        using var again = await stranger.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
    }

    [Fact]
    public async Task UnknownClientCertificate_Returns401()
    {
        using var http = Https(_stranger);
        using var response = await http.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Cli_TrustsTheServerOnlyThroughCaFile()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] common = ["status", "--url", _url.ToString(), "--api-key", _keys["val"]];
        Assert.Equal(CliApplication.ExitClean, await CliApplication.InvokeAsync([.. common, "--ca-file", CaFile], output, error, CancellationToken.None));
        Assert.Contains("alpha", output.ToString(), StringComparison.Ordinal);

        // No custom trust: the system store does not know the test CA.
        Assert.Equal(CliApplication.ExitError, await CliApplication.InvokeAsync(common, output, error, CancellationToken.None));

        // Another CA: refused too, never "accept any".
        var otherCa = Path.Combine(_dir, "other-ca.pem");
        File.WriteAllText(otherCa, _stranger.ExportCertificatePem());
        Assert.Equal(CliApplication.ExitError, await CliApplication.InvokeAsync([.. common, "--ca-file", otherCa], output, error, CancellationToken.None));
    }

    [Fact]
    public async Task Cli_CaFileFromTheEnvironment_TrustsTheServer_FlagWinsOverIt()
    {
        // A real segctl process: the variable is read from its own environment, as a script's shell sets it.
        var (exit, stdout, stderr) = await SegctlProcess.RunWithEnvironmentAsync(
            new Dictionary<string, string> { ["SEGCTL_CA_FILE"] = CaFile, ["SEGCTL_API_KEY"] = _keys["val"] },
            "status", "--url", _url.ToString());
        Assert.True(exit == CliApplication.ExitClean, stderr);
        Assert.Contains("alpha", stdout, StringComparison.Ordinal);

        // --ca-file names another CA: the flag is used, and the server is not trusted.
        var otherCa = Path.Combine(_dir, "other-ca-env.pem");
        File.WriteAllText(otherCa, _stranger.ExportCertificatePem());
        (exit, _, stderr) = await SegctlProcess.RunWithEnvironmentAsync(
            new Dictionary<string, string> { ["SEGCTL_CA_FILE"] = CaFile, ["SEGCTL_API_KEY"] = _keys["val"] },
            "status", "--url", _url.ToString(), "--ca-file", otherCa);
        Assert.Equal(CliApplication.ExitError, exit);
        Assert.Contains("not issued under the CA certificates of --ca-file", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SEGCTL_CA_FILE")]
    [InlineData("--ca-file")]
    [InlineData("--client-cert")]
    [InlineData("--client-key")]
    public async Task Cli_PemFileIsNamedPipe_ExitsTwoNamingTheOptionWithoutWaitingForAWriter(string option)
    {
        var pipe = Path.Combine(_dir, $"pipe{option}.pem");
        Assert.Equal(0, NativeMethods.MkFifo(pipe, Convert.ToUInt32("600", 8)));
        var environment = new Dictionary<string, string> { ["SEGCTL_API_KEY"] = _keys["val"] };
        List<string> args = ["status", "--url", _url.ToString()];
        switch (option)
        {
            case "SEGCTL_CA_FILE":
                environment["SEGCTL_CA_FILE"] = pipe;
                break;
            case "--client-key":
                args.AddRange(["--ca-file", CaFile, "--client-cert", CaFile, "--client-key", pipe]);
                break;
            default:
                args.AddRange([option, pipe]);
                break;
        }

        // A real process under the helper's deadline: a command that waits for the pipe's writer fails instead of hanging.
        var (exit, stdout, stderr) = await SegctlProcess.RunWithEnvironmentAsync(environment, [.. args]);

        Assert.Equal(CliApplication.ExitError, exit);
        Assert.Empty(stdout);
        Assert.Contains($"{(option == "SEGCTL_CA_FILE" ? "--ca-file" : option)} {pipe}: it is a named pipe (FIFO), not a regular file", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_PlainHttpUrlToTheTlsListener_SaysToUseItsHttpsUrl()
    {
        // The operator commands' default URL is http://127.0.0.1:9410; a site whose management listener has a
        // certificate serves TLS on loopback too, and the listener closes a plain HTTP request unanswered.
        using var output = new StringWriter();
        using var error = new StringWriter();
        var plain = new UriBuilder(_url) { Scheme = Uri.UriSchemeHttp, Port = _url.Port }.Uri;
        Assert.Equal(CliApplication.ExitError, await CliApplication.InvokeAsync(
            ["status", "--url", plain.ToString(), "--api-key", _keys["val"], "--ca-file", CaFile], output, error, CancellationToken.None));
        Assert.Contains($"serves TLS only, on loopback too; use --url {_url}", error.ToString(), StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public async Task Cli_CertificateNotTrusted_SaysToPassTheCaWithCaFile()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(CliApplication.ExitError, await CliApplication.InvokeAsync(
            ["status", "--url", _url.ToString(), "--api-key", _keys["val"]], output, error, CancellationToken.None));
        Assert.Contains("presented a TLS certificate this machine does not trust", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("pass --ca-file with the CA that issued the management listener's certificate", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_AuthenticatesWithClientCertificate()
    {
        var certFile = Path.Combine(_dir, "ops.pem");
        var keyFile = Path.Combine(_dir, "ops.key");
        File.WriteAllText(certFile, _client.ExportCertificatePem());
        using (var key = _client.GetECDsaPrivateKey()!)
        {
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApplication.InvokeAsync(
            ["suspend", "beta", "--reason", "from the laptop", "--url", _url.ToString(), "--ca-file", CaFile, "--client-cert", certFile, "--client-key", keyFile],
            output, error, CancellationToken.None);
        Assert.True(code == CliApplication.ExitClean, error.ToString());
        Assert.Contains("beta suspended by ops", output.ToString(), StringComparison.Ordinal);
    }

    private HttpClient Https(X509Certificate2 clientCertificate)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(_ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return certificate is X509Certificate2 leaf && chain.Build(leaf);
                },
            },
        };
        return new HttpClient(handler) { BaseAddress = _url };
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
