using System.Collections.Concurrent;

namespace SegmentController.Proxy.Tests.Infrastructure;

internal sealed class RecordingMetrics : IProxyMetrics
{
    public ConcurrentDictionary<(string Client, string Outcome), int> Counts { get; } = new();

    public void RequestCompleted(string client, string outcome, TimeSpan duration) =>
        Counts.AddOrUpdate((client, outcome), 1, (_, n) => n + 1);

    public int Count(string client, string outcome) => Counts.GetValueOrDefault((client, outcome));

    public ConcurrentDictionary<string, int> Refused { get; } = new(StringComparer.Ordinal);

    public void ConnectionRefused(string client) => Refused.AddOrUpdate(client, 1, (_, n) => n + 1);
}
