using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace SegmentController.Logging;

/// <summary>
/// The console (and so the systemd journal) format of <c>segctl run</c>: one line per entry, laid out as the
/// simple formatter's single-line mode (<c>timestamp level: category[event] message =&gt; scope exception</c>),
/// with every control character, line break and bidirectional control of the message, the scopes and
/// the exception written out as an escape (<see cref="PrintableText"/>). Log messages carry text from
/// outside — request paths and hosts, operators' reasons, switches' descriptions, policy content — and a
/// reader's terminal must not obey it nor take part of it for a line of its own. Only what is written
/// is escaped: the entry's structured state reaches every other provider untouched.
/// </summary>
internal sealed class PrintableConsoleFormatter : ConsoleFormatter, IDisposable
{
    /// <summary>The name to choose this formatter by (<c>ConsoleLoggerOptions.FormatterName</c>).</summary>
    public const string FormatterName = "segctl";

    private const string ResetColor = "\x1B[0m";

    private readonly IDisposable? _changes;
    private PrintableConsoleFormatterOptions _options;

    public PrintableConsoleFormatter(IOptionsMonitor<PrintableConsoleFormatterOptions> options)
        : base(FormatterName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.CurrentValue;
        _changes = options.OnChange(o => _options = o);
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        if (IsHostStartFailure(logEntry.Category, logEntry.EventId))
        {
            return;
        }

        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is null && message is null)
        {
            return;
        }

        var options = _options;
        var line = new StringBuilder(128);
        if (options.TimestampFormat is { } format)
        {
            var now = options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
            line.Append(now.ToString(format, CultureInfo.InvariantCulture));
        }

        var color = Color(logEntry.LogLevel, options.ColorBehavior);
        line.Append(color).Append(LevelName(logEntry.LogLevel)).Append(color is null ? "" : ResetColor);
        line.Append(": ");
        PrintableText.Append(line, logEntry.Category);
        line.Append('[').Append(logEntry.EventId.Id.ToString(CultureInfo.InvariantCulture)).Append("] ");
        PrintableText.Append(line, message);
        if (options.IncludeScopes && scopeProvider is not null)
        {
            scopeProvider.ForEachScope(
                static (scope, builder) =>
                {
                    builder.Append(" => ");
                    PrintableText.Append(builder, scope?.ToString());
                },
                line);
        }

        if (logEntry.Exception is { } exception)
        {
            line.Append(' ');
            PrintableText.Append(line, exception.ToString());
        }

        line.Append(Environment.NewLine);
        textWriter.Write(line.ToString());
    }

    public void Dispose() => _changes?.Dispose();

    /// <summary>
    /// The host's "Hosting failed to start" entry, written with the exception's stack trace. The host throws
    /// the same exception from its start, and <c>segctl run</c> says it there: in one line when it is a
    /// failure of the site (a port already in use, a certificate that does not load), with its stack trace
    /// when it is a defect. Written here too, it would only put a stack trace before that line.
    /// </summary>
    private static bool IsHostStartFailure(string category, EventId eventId) =>
        eventId.Id == HostStartFailedEventId && string.Equals(category, HostCategory, StringComparison.Ordinal);

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private const int HostStartFailedEventId = 11;

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => level.ToString().ToLowerInvariant(),
    };

    /// <summary>The ANSI colour of the level name, or null when not colouring (output redirected, e.g. to the journal).</summary>
    private static string? Color(LogLevel level, LoggerColorBehavior behavior)
    {
        var colour = behavior == LoggerColorBehavior.Enabled || (behavior == LoggerColorBehavior.Default && !Console.IsOutputRedirected);
        if (!colour)
        {
            return null;
        }

        return level switch
        {
            LogLevel.Information => "\x1B[32m",
            LogLevel.Warning => "\x1B[1m\x1B[33m",
            LogLevel.Error => "\x1B[31m",
            LogLevel.Critical => "\x1B[1m\x1B[37m\x1B[41m",
            _ => null,
        };
    }
}
