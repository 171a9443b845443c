using Microsoft.Extensions.Logging.Console;

namespace SegmentController.Logging;

/// <summary>Options of <see cref="PrintableConsoleFormatter"/>: the timestamp and scope settings of every console formatter, and colour.</summary>
internal sealed class PrintableConsoleFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>Colour the level name: <see cref="LoggerColorBehavior.Default"/> colours it only on a terminal (never in the journal).</summary>
    public LoggerColorBehavior ColorBehavior { get; set; }
}
