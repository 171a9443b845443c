using Microsoft.Extensions.Logging;

namespace SegmentController.Proxy;

/// <summary>
/// The proxy's loggers, less ASP.NET Core's "Request starting" and "Request finished" lines below a warning: every
/// request is in the tamper-evident store already, with what those lines say, and at a site's rates two console lines
/// a request would cost more than the request. Writing them also reads the request's host decoded, which throws for a
/// host written as the ASCII form of no name, and that ended the agent's connection with no answer and no record.
/// The server's HTTP/2 logger is also listened to for the requests it refuses itself (<see cref="Access.Http2Refusals"/>).
/// </summary>
internal sealed class RequestLogFilter(ILoggerFactory inner, Access.Http2Refusals? http2Refusals = null) : ILoggerFactory
{
    /// <summary>The category of ASP.NET Core's per-request lines.</summary>
    internal const string RequestCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        if (http2Refusals is not null && string.Equals(categoryName, Access.Http2Refusals.Category, StringComparison.Ordinal))
        {
            return http2Refusals.Wrap(logger);
        }

        return string.Equals(categoryName, RequestCategory, StringComparison.Ordinal) ? new WarningsOnly(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The factory is the caller's: it outlives the proxy.</summary>
    public void Dispose()
    {
    }

    private sealed class WarningsOnly(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
