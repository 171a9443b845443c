using System.Collections.Concurrent;
using System.Text;
using SegmentController.Core.Evidence;

namespace SegmentController.Proxy.Tests.Infrastructure;

// The proxy's side of the store seam, with a switch to make appends fail on demand (a full disk cannot
// be made to order here): every request appended, and forwarding stopped while appends fail. The proxy
// with the real SQLite store runs in SegmentController.Tests (ControllerEndToEndTests) and in
// benchmarks/proxy.
internal sealed class RecordingAppender : IRecordAppender
{
    private long _index;

    public ConcurrentQueue<(string Type, string? Clients, string Payload)> Records { get; } = new();

    public bool Failing { get; set; }

    public StoreHealth Health { get; private set; } = StoreHealth.Healthy(DateTimeOffset.UtcNow);

    public event EventHandler<StoreHealth>? HealthChanged;

    public ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            SetHealth(new StoreHealth(false, "disk full", DateTimeOffset.UtcNow));
            throw new StoreUnavailableException("disk full");
        }

        Records.Enqueue((type, clients, Encoding.UTF8.GetString(payload.Span)));
        if (!Health.IsWritable)
        {
            SetHealth(StoreHealth.Healthy(DateTimeOffset.UtcNow));
        }

        return ValueTask.FromResult(Interlocked.Increment(ref _index));
    }

    private void SetHealth(StoreHealth health)
    {
        Health = health;
        HealthChanged?.Invoke(this, health);
    }
}
