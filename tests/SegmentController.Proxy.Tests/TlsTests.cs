using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

public sealed class TlsTests : IAsyncLifetime
{
    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData("-tls1_1")]
    [InlineData("-tls1")]
    public async Task InboundOldTls_HandshakeRefused(string version)
    {
        var (exitCode, output) = await OpenSsl.ClientAsync("-connect", $"127.0.0.1:{_h.ProxyPort}", "-servername", "acme.test", version, "-cipher", "DEFAULT@SECLEVEL=0");

        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain("BEGIN CERTIFICATE", output, StringComparison.Ordinal);
        Assert.Contains("Cipher is (NONE)", output, StringComparison.Ordinal);

        // The proxy's own refusal (alert 70), not the local openssl declining to offer the version.
        Assert.Contains("alert protocol version", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-tls1_2", "TLSv1.2")]
    [InlineData("-tls1_3", "TLSv1.3")]
    public async Task InboundModernTls_HandshakeAccepted(string version, string protocol)
    {
        var (_, output) = await OpenSsl.ClientAsync("-connect", $"127.0.0.1:{_h.ProxyPort}", "-servername", "acme.test", version, "-CAfile", _h.Pki.CaPemPath);

        Assert.Contains($"New, {protocol}, Cipher is ", output, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", output, StringComparison.Ordinal);
    }
}
