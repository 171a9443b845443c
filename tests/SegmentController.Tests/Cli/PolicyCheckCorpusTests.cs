using System.Globalization;
using System.Text.RegularExpressions;
using SegmentController.Cli;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary>
/// <c>segctl policy check</c> over the whole broken-policy corpus (tests/SegmentController.Core.Tests/
/// Policies/Broken, whose files declare their errors in <c># expect: LINE:COL: text</c> headers): exit 1,
/// nothing on stdout, and on stderr exactly the declared errors as <c>file:line:col: message</c>. The corpus is
/// about the policy text: it is checked with <c>--syntax-only</c>, as the CA bundles its files name are not here.
/// </summary>
public sealed partial class PolicyCheckCorpusTests
{
    private static readonly string Corpus = Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Core.Tests", "Policies", "Broken");

    public static TheoryData<string> BrokenFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Corpus, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public async Task Check_BrokenPolicy_ExitsOneNamingEachDeclaredErrorAtItsPosition(string name)
    {
        var path = Path.Combine(Corpus, name);
        var (expected, forbidden) = ReadHeader(path);
        Assert.NotEmpty(expected);

        var (exit, stdout, stderr) = await RunAsync("policy", "check", "--syntax-only", path);

        Assert.Equal(CliApplication.ExitViolations, exit);
        Assert.Empty(stdout);
        var lines = stderr.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.True(expected.Count == lines.Length, $"expected {expected.Count} error line(s), got:{Environment.NewLine}{stderr}");
        foreach (var (line, column, text) in expected)
        {
            var prefix = $"{path}:{line}:{column}: ";
            Assert.True(
                lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains(text, StringComparison.Ordinal)),
                $"expected {prefix}…{text}{Environment.NewLine}got:{Environment.NewLine}{stderr}");
        }

        foreach (var secret in forbidden)
        {
            Assert.DoesNotContain(secret, stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Check_WholeCorpusInOneRunOfTheExecutable_ExitsOneAndNamesEveryFile()
    {
        var files = Directory.GetFiles(Corpus, "*.yaml").Order(StringComparer.Ordinal).ToArray();
        Assert.True(files.Length >= 25);

        var (exit, stdout, stderr) = await SegctlProcess.RunAsync(["policy", "check", "--syntax-only", .. files]);

        Assert.Equal(CliApplication.ExitViolations, exit);
        Assert.Empty(stdout);
        foreach (var file in files)
        {
            var (line, column, _) = ReadHeader(file).Expected[0];
            Assert.Contains($"{file}:{line}:{column}: ", stderr, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("directory")]
    public async Task Check_UnreadableBesideBroken_ExitsTwo(string kind)
    {
        var directory = Directory.CreateTempSubdirectory("segctl-policy-unreadable-").FullName;
        try
        {
            var unreadable = Path.Combine(directory, "site.yaml");
            if (kind == "directory")
            {
                Directory.CreateDirectory(unreadable);
            }

            var broken = Path.Combine(Corpus, "vlan-out-of-range.yaml");
            var (exit, _, stderr) = await RunAsync("policy", "check", "--syntax-only", broken, unreadable);

            Assert.Equal(CliApplication.ExitError, exit);
            Assert.Contains($"{unreadable}: cannot read the policy file", stderr, StringComparison.Ordinal);
            Assert.Matches($@"{Regex.Escape(broken)}:\d+:\d+: VLAN", stderr);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static (List<(int Line, int Column, string Text)> Expected, List<string> Forbidden) ReadHeader(string path)
    {
        var expected = new List<(int, int, string)>();
        var forbidden = new List<string>();
        foreach (var line in File.ReadLines(path).TakeWhile(l => l.StartsWith('#')))
        {
            if (ExpectLine().Match(line) is { Success: true } expect)
            {
                expected.Add((
                    int.Parse(expect.Groups["line"].Value, CultureInfo.InvariantCulture),
                    int.Parse(expect.Groups["column"].Value, CultureInfo.InvariantCulture),
                    expect.Groups["text"].Value));
            }
            else if (line.StartsWith("# forbid: ", StringComparison.Ordinal))
            {
                forbidden.Add(line["# forbid: ".Length..]);
            }
        }

        return (expected, forbidden);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, stdout, stderr, CancellationToken.None);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [GeneratedRegex(@"^# expect: (?<line>\d+):(?<column>\d+): (?<text>.+)$")]
    private static partial Regex ExpectLine();
}
