using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary>
/// A usage error never prints the value given after an option that carries a secret, whether or not the
/// command takes that option, and still says what was wrong.
/// </summary>
public sealed class ParseErrorSecretTests : IDisposable
{
    private const string Secret = "s3cr3t-K3Y-0f-the-operat0r";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-parse-secret-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("--api-key")]
    [InlineData("--community")]
    [InlineData("--auth-pass")]
    [InlineData("--priv-pass")]
    [InlineData("--password")]
    [InlineData("--secret")]
    [InlineData("--key")]
    public async Task SecretOptionTheCommandDoesNotTake_NamesTheOptionNotItsValue(string option)
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), option, Secret);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Contains($"segctl: unrecognized option {option} for 'log export'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretOptionWithItsValueInOneToken_NamesTheOptionNotItsValue()
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), $"--api-key={Secret}");

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("segctl: unrecognized option --api-key for 'log export' (its value is not shown)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretOptionInAResponseFile_NamesTheOptionNotItsValue()
    {
        var responseFile = Path.Combine(_dir, "args.rsp");
        await File.WriteAllTextAsync(responseFile, $"--api-key\n{Secret}\n");

        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), "@" + responseFile);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("segctl: unrecognized option --api-key for 'log export'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretOptionOnAnUnknownCommand_NeverPrintsItsValue()
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("statuss", "--api-key", Secret);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("--api-key", stderr, StringComparison.Ordinal);
        Assert.Contains("statuss", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherUnknownArguments_AreStillNamed()
    {
        var (code, _, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), "--colour", "blue");

        Assert.Equal(2, code);
        Assert.Contains("Unrecognized command or argument '--colour'", stderr, StringComparison.Ordinal);
        Assert.Contains("Unrecognized command or argument 'blue'", stderr, StringComparison.Ordinal);
    }
}
