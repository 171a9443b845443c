using System.Security.Cryptography;
using System.Text.RegularExpressions;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// <c>segctl run</c> (a real process) given a served certificate whose key file holds another key — the proxy's or
/// the management listener's: it does not start, says which certificate and why, and does not crash with a stack
/// trace. <c>segctl policy check</c> reports the same at the certificate's key.
/// </summary>
public sealed class ServedCertificateStartTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("served-certificate");

    public void Dispose() => _site.Dispose();

    [Theory]
    [InlineData("proxy")]
    [InlineData("management")]
    public async Task Run_KeyFileOfAnotherKey_DoesNotStart_SaysWhich_PolicyCheckAgrees(string listener)
    {
        var policyPath = _site.WritePolicy("served-" + listener, LoopbackProxySite.FreePort(), LoopbackProxySite.FreePort());
        var site = File.ReadAllText(policyPath);
        var certificate = Regex.Match(site, @"certificate:\s+file: (\S+)\s+key_file: (\S+)");
        Assert.True(certificate.Success, "the site's policy has a PEM certificate and key");
        var otherKey = _site.File("other.key");
        using (var other = ECDsa.Create())
        {
            File.WriteAllText(otherKey, other.ExportPkcs8PrivateKeyPem());
        }

        var served = $"certificate:\n      file: {certificate.Groups[1].Value}\n      key_file: {otherKey}";
        site = listener == "proxy"
            ? site.Replace(certificate.Value, served, StringComparison.Ordinal)
            : site.Replace("  management:\n", $"  management:\n    {served}\n", StringComparison.Ordinal);
        File.WriteAllText(policyPath, site);

        var (exit, stdout, stderr) = await SegctlProcess.RunAsync("run", "--policy", policyPath, "--management-listen", "127.0.0.1:0");

        Assert.Equal(2, exit);
        Assert.Contains($"certificate {certificate.Groups[1].Value} cannot be loaded: The provided key does not match the public key for this certificate", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);

        var (checkExit, _, checkErrors) = await SegctlProcess.RunAsync("policy", "check", policyPath);
        Assert.Equal(1, checkExit);
        Assert.Matches($@"{Regex.Escape(policyPath)}:\d+:\d+: {listener} certificate '{Regex.Escape(certificate.Groups[1].Value)}' cannot be loaded: The provided key does not match", checkErrors);
    }
}
