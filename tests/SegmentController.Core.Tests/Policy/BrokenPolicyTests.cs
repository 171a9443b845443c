using System.Globalization;
using System.Text.RegularExpressions;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

/// <summary>
/// Each file under Policies/Broken opens with the errors it must produce (<c># expect: LINE:COL: text</c>)
/// and, for files that hold a secret, text no message may repeat (<c># forbid: text</c>).
/// </summary>
public sealed partial class BrokenPolicyTests
{
    public static TheoryData<string> BrokenFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(PolicyFiles.Directory, "Broken"), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void BrokenPolicy_ReportsExactlyTheDeclaredErrors(string name)
    {
        var path = PolicyFiles.Broken(name);
        var (expected, forbidden) = ReadHeader(path);
        Assert.NotEmpty(expected);

        PolicyLoadResult? result = null;
        var thrown = Record.Exception(() => result = PolicyLoader.LoadFile(path));

        Assert.Null(thrown);
        Assert.NotNull(result);
        Assert.Null(result.Policy);
        Assert.False(result.Unreadable);
        var report = string.Join(Environment.NewLine, result.Errors);
        foreach (var (line, column, text) in expected)
        {
            Assert.True(
                result.Errors.Any(e => e.Line == line && e.Column == column && e.Message.Contains(text, StringComparison.Ordinal)),
                $"expected {line}:{column}: {text}{Environment.NewLine}got:{Environment.NewLine}{report}");
        }

        Assert.True(expected.Count == result.Errors.Count, $"expected {expected.Count} error(s), got:{Environment.NewLine}{report}");
        foreach (var secret in forbidden)
        {
            Assert.DoesNotContain(result.Errors, e => e.ToString().Contains(secret, StringComparison.Ordinal));
        }

        Assert.All(result.Errors, e => Assert.StartsWith($"{path}:{e.Line}:{e.Column}: ", e.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void BrokenPolicies_AreAtLeastTwentyFive()
    {
        Assert.True(BrokenFiles().Count >= 25);
    }

    [Fact]
    public void FileWithSeveralErrors_ReportsEveryOneInFileOrder()
    {
        var result = PolicyLoader.LoadFile(PolicyFiles.Broken("several-errors.yaml"));

        Assert.Equal(7, result.Errors.Count);
        Assert.Equal(result.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column), result.Errors);
        Assert.Contains(result.Errors, e => e.Message.Contains("secret written inline", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("VLAN 4095", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("overlaps", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("not https://", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("not a date", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("already assigned", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("'sw9' is not defined", StringComparison.Ordinal));
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

    [GeneratedRegex(@"^# expect: (?<line>\d+):(?<column>\d+): (?<text>.+)$")]
    private static partial Regex ExpectLine();
}
