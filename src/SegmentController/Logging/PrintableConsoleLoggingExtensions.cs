using Microsoft.Extensions.Logging.Console;

namespace SegmentController.Logging;

/// <summary>The console logging of <c>segctl run</c>.</summary>
internal static class PrintableConsoleLoggingExtensions
{
    /// <summary>
    /// Logs to the console (under systemd: the journal) one line per entry, with outside text escaped
    /// (<see cref="PrintableConsoleFormatter"/>). The formatter is chosen after any configuration is
    /// bound, so no setting can swap it for one that passes control characters through.
    /// </summary>
    public static ILoggingBuilder AddPrintableConsole(this ILoggingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddConsole();
        builder.AddConsoleFormatter<PrintableConsoleFormatter, PrintableConsoleFormatterOptions>(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.PostConfigure<ConsoleLoggerOptions>(o => o.FormatterName = PrintableConsoleFormatter.FormatterName);
        return builder;
    }
}
