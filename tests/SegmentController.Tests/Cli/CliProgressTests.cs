using SegmentController.Cli;

namespace SegmentController.Tests.Cli;

/// <summary>The elapsed-time line of long operator commands, on a terminal and off it.</summary>
public sealed class CliProgressTests
{
    [Fact]
    public async Task Terminal_TickRewrittenInPlaceAndClearedBeforeTheFinalLine()
    {
        using var inner = new StringWriter();
        var error = TextWriter.Synchronized(inner);
        await using (var progress = CliProgress.Start(error, "suspend alpha", "switch ports", enabled: true, interactive: true, TimeSpan.FromMilliseconds(20), TimeProvider.System))
        {
            await WaitForAsync(error, inner, "\r\u001b[Ksuspend alpha: switch ports… ");
            progress.Line("persist 0.100 ms ok");
            await progress.DoneAsync("every stage done");
        }

        var text = inner.ToString();
        Assert.DoesNotContain('\n', text[..text.IndexOf("suspend alpha: persist", StringComparison.Ordinal)]);
        // The tick is wiped before each line, so no line carries a tick's text.
        Assert.Contains("\r\u001b[Ksuspend alpha: persist 0.100 ms ok\n", text, StringComparison.Ordinal);
        Assert.Matches(@"suspend alpha: every stage done in \d+\.\d{3} s\n$", text);
    }

    [Fact]
    public async Task NotATerminal_TicksAreWholeLinesWithoutEscapes()
    {
        using var inner = new StringWriter();
        var error = TextWriter.Synchronized(inner);
        await using (var progress = CliProgress.Start(error, "log verify", "recomputing the chain", enabled: true, interactive: false, TimeSpan.FromMilliseconds(20), TimeProvider.System))
        {
            await WaitForAsync(error, inner, "log verify: recomputing the chain… ");
            progress.Status("almost");
            await WaitForAsync(error, inner, "log verify: almost… ");
            await progress.DoneAsync("12 records, intact");
        }

        var text = inner.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\r', text);
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("log verify: ", l, StringComparison.Ordinal));
        Assert.Matches(@"log verify: 12 records, intact in \d+\.\d{3} s\n$", text);
    }

    [Fact]
    public async Task Disabled_WritesNothing()
    {
        using var inner = new StringWriter();
        var error = TextWriter.Synchronized(inner);
        await using (var progress = CliProgress.Start(error, "restore alpha", "waiting", enabled: false, interactive: false, TimeSpan.FromMilliseconds(1), TimeProvider.System))
        {
            await Task.Delay(50);
            progress.Line("a step");
            await progress.DoneAsync("restored");
        }

        Assert.Equal("", inner.ToString());
    }

    private static async Task WaitForAsync(TextWriter synchronized, StringWriter inner, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Snapshot(synchronized, inner).Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' never written; written: {Snapshot(synchronized, inner)}");
            await Task.Delay(10);
        }
    }

    /// <summary>The text so far, read under the synchronized writer's own lock.</summary>
    private static string Snapshot(TextWriter synchronized, StringWriter inner)
    {
        lock (synchronized)
        {
            return inner.ToString();
        }
    }
}
