using SegmentController.Proxy.Access;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// Connections the gate dropped, counted at once (<see cref="IProxyMetrics.ConnectionRefused"/>) and
/// gathered per client per <see cref="Interval"/> into one <c>refused-at-gate</c> access record each, with
/// at most <see cref="MaxSources"/> sources named: a flood of connections makes a handful of records,
/// never one per connection.
/// </summary>
internal sealed class GateRefusals(IProxyMetrics metrics, TimeProvider time)
{
    /// <summary>How long refusals of one client are gathered into one record.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Sources named per record; the rest are counted together.</summary>
    public const int MaxSources = 32;

    private readonly Lock _lock = new();
    private Dictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>The gate dropped a connection of <paramref name="client"/> (null: a source in no segment).</summary>
    public void Refused(string? client, string source)
    {
        metrics.ConnectionRefused(client ?? ProxyOutcomes.UnknownClient);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var key = client ?? "";
            if (!_windows.TryGetValue(key, out var window))
            {
                window = new Window(client, now);
                _windows[key] = window;
            }

            window.Add(source, now);
        }
    }

    /// <summary>The records of the refusals gathered since the last call (and starts new windows).</summary>
    public IReadOnlyList<GateRefusalRecord> Drain()
    {
        Dictionary<string, Window> windows;
        lock (_lock)
        {
            if (_windows.Count == 0)
            {
                return [];
            }

            windows = _windows;
            _windows = new Dictionary<string, Window>(StringComparer.Ordinal);
        }

        return [.. windows.Values.Select(w => w.ToRecord())];
    }

    private sealed class Window(string? client, DateTimeOffset first)
    {
        private readonly Dictionary<string, long> _sources = new(StringComparer.Ordinal);
        private DateTimeOffset _last;
        private long _connections;
        private long _otherConnections;
        private readonly HashSet<string> _otherSources = new(StringComparer.Ordinal);

        public void Add(string source, DateTimeOffset at)
        {
            _connections++;
            _last = at < first ? first : at;
            if (_sources.TryGetValue(source, out var count))
            {
                _sources[source] = count + 1;
            }
            else if (_sources.Count < MaxSources)
            {
                _sources[source] = 1;
            }
            else
            {
                _otherConnections++;

                // Distinct others counted up to a bound too: memory stays small whatever the flood.
                if (_otherSources.Count < MaxSources * 32)
                {
                    _otherSources.Add(source);
                }
            }
        }

        public GateRefusalRecord ToRecord() => new()
        {
            Time = first,
            Until = _last,
            Client = client,
            Connections = _connections,
            Sources = [.. _sources.OrderByDescending(s => s.Value).ThenBy(s => s.Key, StringComparer.Ordinal).Select(s => new GateRefusalSource { Source = s.Key, Connections = s.Value })],
            OtherSources = _otherSources.Count,
            OtherConnections = _otherConnections,
        };
    }
}
