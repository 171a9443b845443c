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

    [Theory]
    [InlineData("--api-kye")]
    [InlineData("--comunity")]
    [InlineData("--colour")]
    [InlineData("-x")]
    public async Task UnknownOptionFollowedByAValue_NamesTheOptionNotTheValue(string option)
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), option, Secret);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Equal($"segctl: unrecognized option {option} for 'log export' (its value is not shown){Environment.NewLine}Run 'segctl --help' for usage.{Environment.NewLine}", stderr);
    }

    [Theory]
    [InlineData("=")]
    [InlineData(":")]
    public async Task UnknownOptionWithItsValueInOneToken_NamesTheOptionNotTheValue(string separator)
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), $"--api-kye{separator}{Secret}");

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("segctl: unrecognized option --api-kye for 'log export' (its value is not shown)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownOptionInAResponseFile_NamesTheOptionNotTheValue()
    {
        var responseFile = Path.Combine(_dir, "args.rsp");
        await File.WriteAllTextAsync(responseFile, $"--api-kye\n{Secret}\n");

        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), "@" + responseFile);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("segctl: unrecognized option --api-kye for 'log export' (its value is not shown)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownOptionsInARow_EachFollowerHidden_CommandsAndKnownOptionsStillNamed()
    {
        // The second may be the misspelled option and the third its value.
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "--colour", "--api-kye", Secret, "export", "--store", Path.Combine(_dir, "segctl.db"), "--verbose");

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--api-kye", stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("segctl: unrecognized option --colour for 'log export' (its value is not shown)", stderr, StringComparison.Ordinal);
        Assert.Contains("segctl: unrecognized option --verbose for 'log export'" + Environment.NewLine, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--api-kye")]
    [InlineData("--api-key")]
    public async Task OptionTakenAsAnotherOptionsValue_TheTokenAfterItHidden(string option)
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("log", "export", "--store", Path.Combine(_dir, "segctl.db"), "--from", option, Secret);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.Equal($"segctl: unrecognized argument for 'log export' after {option} (not shown){Environment.NewLine}Run 'segctl --help' for usage.{Environment.NewLine}", stderr);
    }

    /// <summary>Commands that take files or ids as arguments.</summary>
    public static TheoryData<string> CommandsTakingArguments =>
    [
        "policy check", "policy show", "pcap analyze", "snmp walk", "incident report", "incident notice",
        "audit record", "audit show", "suspend", "restore", "approve",
    ];

    [Theory]
    [MemberData(nameof(CommandsTakingArguments))]
    public async Task UnknownOptionWhereTheCommandTakesArguments_UsageErrorWithoutTheValue(string command)
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync([.. command.Split(' '), "--polcy", Secret]);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.StartsWith($"segctl: unrecognized option --polcy for '{command}' (its value is not shown){Environment.NewLine}", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CommandsTakingArguments))]
    public async Task UnknownOptionWithItsValueInOneTokenWhereTheCommandTakesArguments_UsageErrorWithoutTheValue(string command)
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync([.. command.Split(' '), $"--polcy={Secret}"]);

        Assert.Equal(2, code);
        Assert.DoesNotContain(Secret, stdout + stderr, StringComparison.Ordinal);
        Assert.StartsWith($"segctl: unrecognized option --polcy for '{command}' (its value is not shown){Environment.NewLine}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_UnknownOptionAfterAFile_NothingCheckedNothingEchoed()
    {
        var (code, stdout, stderr) = await SegctlProcess.RunAsync("policy", "check", Path.Combine(_dir, "site.yaml"), $"--polcy={Secret}", "--polcy", Secret);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            $"segctl: unrecognized option --polcy for 'policy check' (its value is not shown){Environment.NewLine}"
            + $"segctl: unrecognized option --polcy for 'policy check' (its value is not shown){Environment.NewLine}"
            + $"Run 'segctl --help' for usage.{Environment.NewLine}",
            stderr);
    }

    [Fact]
    public async Task PolicyCheck_FileNamedLikeAnOptionAfterDoubleDash_CheckedAsAFile()
    {
        var (code, _, stderr) = await SegctlProcess.RunAsync("policy", "check", "--", "--site.yaml");

        Assert.Equal(2, code);
        Assert.DoesNotContain("unrecognized option", stderr, StringComparison.Ordinal);
        Assert.Contains("--site.yaml", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownCommand_IsStillNamed()
    {
        var (code, _, stderr) = await SegctlProcess.RunAsync("log", "exprot", "--store", Path.Combine(_dir, "segctl.db"));

        Assert.Equal(2, code);
        Assert.Contains("Unrecognized command or argument 'exprot'", stderr, StringComparison.Ordinal);
    }
}
