using SegmentController.Cli;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl snmp walk</c> refuses arguments it cannot use before it sends anything: one line, exit 2.</summary>
public sealed class SnmpCommandArgumentsTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("1e308", "--timeout must be from 0.1 to 60 seconds, not 1e308")]
    [InlineData("-1", "--timeout must be from 0.1 to 60 seconds, not -1")]
    [InlineData("NaN", "--timeout must be from 0.1 to 60 seconds, not NaN")]
    [InlineData("0", "--timeout must be from 0.1 to 60 seconds, not 0")]
    public async Task Walk_TimeoutOutsideThePolicysRange_Exit2NamingTheRange(string timeout, string message)
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", "127.0.0.1:1", "--community", "public", "--timeout", timeout, "1.3.6.1");

        Assert.Equal(CliApplication.ExitError, exit);
        Assert.Equal("", output);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("11")]
    public async Task Walk_RetriesOutsideThePolicysRange_Exit2NamingTheRange(string retries)
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", "127.0.0.1:1", "--community", "public", "--timeout", "0.2", "--retries", retries, "1.3.6.1");

        Assert.Equal(CliApplication.ExitError, exit);
        Assert.Equal("", output);
        Assert.Contains($"--retries must be from 0 to 10, not {retries}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("99.3")]
    [InlineData("1.40")]
    [InlineData("1")]
    public async Task Walk_OidBerCannotEncode_Exit2SayingWhatAnOidIs(string oid)
    {
        var (exit, output, error) = await RunAsync("snmp", "walk", "--target", "127.0.0.1:1", "--community", "public", "--timeout", "0.2", "--retries", "0", oid);

        Assert.Equal(CliApplication.ExitError, exit);
        Assert.Equal("", output);
        Assert.Contains($"'{oid}' is not an OID: it needs at least two sub-identifiers", error, StringComparison.Ordinal);
        Assert.DoesNotContain("oidValue", error, StringComparison.Ordinal);
    }
}
