using Microsoft.Extensions.Logging;

namespace SegmentController.Tests.Infrastructure;

/// <summary>Keeps every formatted log message with its level, for asserting what a service said it did.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly Lock _lock = new();
    private readonly List<(LogLevel Level, string Message)> _entries = [];
    private readonly List<int> _eventIds = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>The event id of each entry, in the same order.</summary>
    public IReadOnlyList<int> EventIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _eventIds];
            }
        }
    }

    public IReadOnlyList<string> Messages => [.. Entries.Select(e => e.Message)];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _entries.Add((logLevel, formatter(state, exception)));
            _eventIds.Add(eventId.Id);
        }
    }
}
