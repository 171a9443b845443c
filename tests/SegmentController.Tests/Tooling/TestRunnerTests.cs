using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Tooling;

/// <summary>
/// tests/run.sh, the one test command: what it prints about a failure (tests/explain-failures.awk over
/// a real failing run's console log, kept beside this file) and its refusal to run without root.
/// </summary>
public sealed class TestRunnerTests
{
    private static readonly string Fixture = Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Tests", "Tooling", "failing-test-run.log");

    [Fact]
    public async Task ExplainFailures_KeepsEachFailedTestsNameMessageAndFileLine()
    {
        var (code, output) = await ExternalTool.RunAsync("awk", RepositoryPaths.Root, "-f", "tests/explain-failures.awk", Fixture);

        Assert.Equal(0, code);
        foreach (var (test, line) in new[] { ("AlertRules_FireOnTheirCasesInPromtoolUnitTests", 29), ("AlertRules_PassPromtoolCheck", 20), ("ScrapeConfig_PassesPromtoolCheck", 37) })
        {
            var start = output.IndexOf($"  Failed SegmentController.Tests.Monitoring.MonitoringTests.{test} [", StringComparison.Ordinal);
            Assert.True(start >= 0, output);
            var end = output.IndexOf("  Failed ", start + 1, StringComparison.Ordinal);
            var section = end < 0 ? output[start..] : output[start..end];

            // The message itself, not just its heading: what promtool said and where.
            Assert.Contains("  Error Message:", section, StringComparison.Ordinal);
            Assert.Contains("alerts.yml: 16:15: group \"segctl\", rule 2, \"SegctlClientSuspended\": could not parse expression", section, StringComparison.Ordinal);
            Assert.Contains($"MonitoringTests.cs:line {line}", section, StringComparison.Ordinal);
        }

        // xUnit's own copy of each failure, runs of blank lines and the stack's filler are left out.
        Assert.DoesNotContain("[xUnit.net", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n\n\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("End of stack trace", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExplainFailures_LongMessageIsCutAndOnlyFramesWithFileLineFollowTheFirst()
    {
        var log = Path.Combine(Path.GetTempPath(), $"segctl-run-log-{Guid.NewGuid():N}.log");
        try
        {
            var message = string.Join('\n', Enumerable.Range(1, 100).Select(i => $"message line {i}"));
            var frames = string.Join('\n', new[] { "     at System.IO.FileSystem.DeleteFile(String fullPath)", "     at System.Private.Helper()" }
                .Concat(Enumerable.Range(1, 8).Select(i => $"   at SegmentController.Tests.T.M{i}() in /src/T.cs:line {i}")));
            await File.WriteAllTextAsync(log, $"  Passed SegmentController.Tests.T.Fine [1 ms]\n  Failed SegmentController.Tests.T.Broken(path: \"x\") [< 1 ms]\n  Error Message:\n{message}\n  Stack Trace:\n{frames}\n\n  Standard Output Messages:\n noise\n");

            var (_, output) = await ExternalTool.RunAsync("awk", RepositoryPaths.Root, "-f", "tests/explain-failures.awk", log);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

            Assert.Equal("  Failed SegmentController.Tests.T.Broken(path: \"x\") [< 1 ms]", lines[0]);
            Assert.Contains("message line 80", lines);
            Assert.DoesNotContain("message line 81", lines);
            Assert.Contains(lines, l => l.Contains("(message cut", StringComparison.Ordinal));
            Assert.Contains("     at System.IO.FileSystem.DeleteFile(String fullPath)", lines);
            Assert.DoesNotContain("     at System.Private.Helper()", lines);
            Assert.Equal(6, lines.Count(l => l.Contains(" in /src/T.cs:line ", StringComparison.Ordinal)));
            Assert.DoesNotContain(lines, l => l.Contains("noise", StringComparison.Ordinal) || l.Contains("Fine", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task RunScript_WithoutRoot_RefusesWithTheReason()
    {
        var (code, output) = await ExternalTool.RunAsync("setpriv", RepositoryPaths.Root, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", "tests/run.sh");

        Assert.Equal(2, code);
        Assert.Contains("tests/run.sh: run as root (CI does)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunScript_PipesEveryProjectsLogThroughTheExplainer()
    {
        var script = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "tests", "run.sh"));

        Assert.Contains("| tee \"$results/$name.log\" | awk -f tests/explain-failures.awk", script, StringComparison.Ordinal);
    }
}
