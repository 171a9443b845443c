using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// What the proxy's upstream connection pools (SocketsHttpHandler) report through .NET's <c>System.Net.Http</c>
/// metrics, per upstream port: connections idle in a pool now, and requests that found no idle connection and
/// waited for one to be opened (<c>http.client.request.time_in_queue</c> is recorded only for those). Start it
/// before the first request to the upstream: idle connections are counted from the changes it sees.
/// </summary>
internal sealed class UpstreamPoolMeter : IDisposable
{
    private const string OpenConnections = "http.client.open_connections";
    private const string TimeInQueue = "http.client.request.time_in_queue";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<int, long> _idle = new();
    private readonly ConcurrentDictionary<int, long> _waited = new();

    public UpstreamPoolMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "System.Net.Http" && instrument.Name is OpenConnections or TimeInQueue)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == OpenConnections && Port(tags) is { } port && Tag(tags, "http.connection.state") == "idle")
            {
                _idle.AddOrUpdate(port, value, (_, n) => n + value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            if (instrument.Name == TimeInQueue && Port(tags) is { } port)
            {
                _waited.AddOrUpdate(port, 1, (_, n) => n + 1);
            }
        });
        _listener.Start();
    }

    /// <summary>Connections to the upstream at <paramref name="port"/> idle in a pool now.</summary>
    public long Idle(int port) => _idle.GetValueOrDefault(port);

    /// <summary>Requests to the upstream at <paramref name="port"/> that found no idle connection in their pool and waited for one.</summary>
    public long Waited(int port) => _waited.GetValueOrDefault(port);

    public void Dispose() => _listener.Dispose();

    private static int? Port(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        Tag(tags, "server.port") is { } port ? int.Parse(port, CultureInfo.InvariantCulture) : null;

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return Convert.ToString(tag.Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
