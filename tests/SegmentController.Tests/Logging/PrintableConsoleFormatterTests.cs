using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SegmentController.Logging;

namespace SegmentController.Tests.Logging;

/// <summary>The console line of <c>segctl run</c>: outside text in the message, scopes and exceptions written out, the state untouched.</summary>
public sealed class PrintableConsoleFormatterTests
{
    private const string Hostile = "sw1 \u001b[31mred\r\nforged line\u202etxt\u0085\u2028\t";
    private const string Escaped = @"sw1 \u001b[31mred\r\nforged line\u202etxt\u0085\u2028\t";

    [Fact]
    public void Write_ControlsInMessageScopeAndException_OneLineWithEscapes()
    {
        var scopes = new LoggerExternalScopeProvider();
        using var scope = scopes.Push("switch " + Hostile);
        var exception = new InvalidOperationException("sysDescr " + Hostile);
        var state = new Dictionary<string, object?> { ["Descr"] = Hostile };
        var output = new StringWriter();

        Formatter(includeScopes: true).Write(
            new LogEntry<Dictionary<string, object?>>(LogLevel.Warning, "SegmentController.Snmp", new EventId(4100), state, exception, (s, _) => "ifDescr " + s["Descr"]),
            scopes,
            output);

        var line = output.ToString();
        Assert.EndsWith(Environment.NewLine, line, StringComparison.Ordinal);
        line = line[..^Environment.NewLine.Length];
        Assert.DoesNotContain(line, c => char.IsControl(c) || c is '\u202e' or '\u2028');
        Assert.StartsWith("warn: SegmentController.Snmp[4100] ifDescr " + Escaped, line, StringComparison.Ordinal);
        Assert.Contains(" => switch " + Escaped, line, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException: sysDescr " + Escaped, line, StringComparison.Ordinal);

        // What other providers get is the state as logged.
        Assert.Equal(Hostile, state["Descr"]);
    }

    [Fact]
    public void Write_PlainMessage_SimpleSingleLineLayout()
    {
        var output = new StringWriter();

        Formatter(includeScopes: false).Write(
            new LogEntry<string>(LogLevel.Critical, "SegmentController.Proxy", new EventId(1200), "Suspended beta (operator) by alice: cable swap", null, (s, _) => s),
            null,
            output);

        Assert.Equal("crit: SegmentController.Proxy[1200] Suspended beta (operator) by alice: cable swap" + Environment.NewLine, output.ToString());
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("a\\b", "a\\b")]
    [InlineData("\u0000\u001f\u007f\u009f", @"\u0000\u001f\u007f\u009f")]
    [InlineData("\u200e\u200f\u061c\u202a\u2066\u2069", @"\u200e\u200f\u061c\u202a\u2066\u2069")]
    [InlineData("é ü 中 👍", "é ü 中 👍")]
    public void Escape_WritesOutOnlyWhatATerminalWouldActOn(string text, string expected) =>
        Assert.Equal(expected, PrintableText.Escape(text));

    private static PrintableConsoleFormatter Formatter(bool includeScopes) =>
        new(new FixedOptions(new PrintableConsoleFormatterOptions { IncludeScopes = includeScopes, ColorBehavior = Microsoft.Extensions.Logging.Console.LoggerColorBehavior.Disabled }));

    private sealed class FixedOptions(PrintableConsoleFormatterOptions value) : IOptionsMonitor<PrintableConsoleFormatterOptions>
    {
        public PrintableConsoleFormatterOptions CurrentValue => value;

        public PrintableConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<PrintableConsoleFormatterOptions, string?> listener) => null;
    }
}
